/**
 * The first `count` values of an async iterable, failing after `timeoutMs` with how many arrived.
 * The iterator is released (`return()`) afterwards, so a subscription ends with the take.
 */
export async function take<T>(iterable: AsyncIterable<T>, count: number, timeoutMs = 10_000, what = 'values'): Promise<T[]> {
  const out: T[] = []
  if (count === 0) return out
  const it = iterable[Symbol.asyncIterator]()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`timed out after ${out.length}/${count} ${what}`)) }, timeoutMs)
  })
  try {
    while (out.length < count) {
      const next = await Promise.race([it.next(), timeout])
      if (next.done === true) break
      out.push(next.value)
    }
  } finally {
    clearTimeout(timer)
    await it.return?.()
  }
  return out
}
