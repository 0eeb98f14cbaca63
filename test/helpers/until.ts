/** Poll `condition` every `everyMs` until it holds, failing after `timeoutMs` with `what`. */
export async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
