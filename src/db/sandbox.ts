/**
 * Write validators and read filters run in QuickJS (quickjs-emscripten-core with the release-sync
 * wasm variant). One runtime and context per distinct function body, reused across calls.
 *
 * Determinism: every peer must decide alike, so the limits are counted, not timed.
 * - Time: QuickJS calls the interrupt handler every ~10,000 interpreter steps (loop back-edges and
 *   calls); a call is interrupted after `pollBudget` such polls (ValidatorTimeoutError). No wall
 *   clock is consulted.
 * - Memory: at every poll the runtime's live memory (objects, strings, arrays as QuickJS counts
 *   them) is compared with `memoryLimitBytes` (ValidatorMemoryError). A single allocation above the
 *   limit fails at once; the wasm memory itself is capped at `wasmMaxBytes`, so a builtin that
 *   allocates without polling fails fast instead of growing the heap to gigabytes.
 * - No `Date`, `Math.random` throws, no WeakRef/FinalizationRegistry, no Promise; the global
 *   object and every intrinsic are frozen, so no state survives from one call to the next.
 * Values go in as JSON strings parsed by QuickJS's own `JSON.parse` (never spliced into source).
 */
import { newQuickJSWASMModuleFromVariant, newVariant, DefaultIntrinsics, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime, type QuickJSWASMModule } from 'quickjs-emscripten-core'
import releaseSync from '@jitl/quickjs-wasmfile-release-sync'
import { logger } from '../core/logger.js'
import { InvalidValidatorError, ValidatorError, ValidatorMemoryError, ValidatorTimeoutError } from './errors.js'
import { isObject, toJSONValue } from './json.js'
import type { JSONObject, JSONValue } from './types.js'

const log = logger('weft:db:sandbox')

export interface SandboxInit {
  /** Interrupt polls (each ~10,000 interpreter steps) a call may take. @default 1000 */
  pollBudget?: number
  /** Live QuickJS memory a runtime may hold during a call. @default 16 MiB */
  memoryLimitBytes?: number
  /** QuickJS stack size (deep recursion fails with a RangeError before the host stack does). @default 256 KiB */
  maxStackBytes?: number
  /** Cap of the wasm memory of the sandbox. @default 128 MiB */
  wasmMaxBytes?: number
  /** Function bodies kept compiled. @default 64 */
  maxEntries?: number
}

export type SandboxKind = 'validator' | 'filter'

export interface Sandbox {
  /** Compile a body (InvalidValidatorError on a syntax error). */
  check(kind: SandboxKind, code: string): Promise<void>
  /** Run a write validator: `true`, or the reason for rejecting (a string). */
  validate(code: string, writer: string | undefined, event: JSONObject, instance: JSONObject | undefined): Promise<true | string>
  /** Run a read filter: the instance to show, or null. */
  filter(code: string, reader: string | undefined, instance: JSONObject): Promise<JSONObject | null>
  dispose(): void
}

const PARAMS: Record<SandboxKind, string[]> = { validator: ['writer', 'event', 'instance'], filter: ['reader', 'instance'] }

const LOCKDOWN = `(function () {
  'use strict';
  var g = globalThis;
  Object.defineProperty(Math, 'random', { value: function random() { throw new Error('Math.random is not available here') }, writable: false, configurable: false });
  ['Date', 'WeakRef', 'FinalizationRegistry', 'Promise', 'eval'].forEach(function (n) { delete g[n] });
  var seen = new Set();
  var stack = [g];
  while (stack.length > 0) {
    var o = stack.pop();
    if (o === null || o === undefined || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
    seen.add(o);
    var keys = Reflect.ownKeys(o);
    for (var i = 0; i < keys.length; i++) {
      var d = Object.getOwnPropertyDescriptor(o, keys[i]);
      if (!d) continue;
      if ('value' in d) stack.push(d.value); else { stack.push(d.get); stack.push(d.set); }
    }
    stack.push(Object.getPrototypeOf(o));
    Object.freeze(o);
  }
})()`

interface Entry {
  runtime: QuickJSRuntime
  context: QuickJSContext
  fn: QuickJSHandle
  parse: QuickJSHandle
  stringify: QuickJSHandle
}

interface CallState { polls: number; timedOut: boolean; memory: boolean }

export async function createSandbox(init: SandboxInit = {}): Promise<Sandbox> {
  const pollBudget = init.pollBudget ?? 1000
  const memoryLimit = init.memoryLimitBytes ?? 16 * 1024 * 1024
  const maxStack = init.maxStackBytes ?? 256 * 1024
  const wasmMaxPages = Math.ceil((init.wasmMaxBytes ?? 128 * 1024 * 1024) / 65536)
  const maxEntries = init.maxEntries ?? 64

  const load = async (): Promise<QuickJSWASMModule> => {
    const memory = new WebAssembly.Memory({ initial: Math.min(256, wasmMaxPages), maximum: wasmMaxPages })
    return await newQuickJSWASMModuleFromVariant(newVariant(releaseSync, { wasmMemory: memory }))
  }
  let module = await load()
  /** Set when a call trapped the wasm module (host stack overflow): the next call loads a new one. */
  let broken = false
  const entries = new Map<string, Entry>()
  const state: CallState = { polls: 0, timedOut: false, memory: false }

  function dispose(key: string): void {
    const e = entries.get(key)
    if (e === undefined) return
    entries.delete(key)
    if (broken) return
    try {
      for (const h of [e.fn, e.parse, e.stringify]) h.dispose()
      e.context.dispose()
      e.runtime.dispose()
    } catch (err) {
      log.error('disposing a sandbox runtime failed: %s', (err as Error).message)
    }
  }

  async function ready(): Promise<void> {
    if (!broken) return
    entries.clear()
    module = await load()
    broken = false
  }

  function entry(kind: SandboxKind, code: string): Entry {
    const key = `${kind}\u0000${code}`
    const hit = entries.get(key)
    if (hit !== undefined) {
      entries.delete(key)
      entries.set(key, hit)
      return hit
    }
    const runtime = module.newRuntime()
    runtime.setMemoryLimit(memoryLimit)
    runtime.setMaxStackSize(maxStack)
    runtime.setInterruptHandler(() => {
      state.polls++
      if (state.polls > pollBudget) { state.timedOut = true; return true }
      const h = runtime.computeMemoryUsage()
      const used = (context.dump(h) as { memory_used_size?: number }).memory_used_size ?? 0
      h.dispose()
      if (used > memoryLimit) { state.memory = true; return true }
      return false
    })
    const context = runtime.newContext({ intrinsics: { ...DefaultIntrinsics, Date: false, Promise: false } })
    try {
      const json = context.getProp(context.global, 'JSON')
      const parse = context.getProp(json, 'parse')
      const stringify = context.getProp(json, 'stringify')
      json.dispose()
      const ctor = context.getProp(context.global, 'Function')
      const args = [...PARAMS[kind], code].map((s) => context.newString(s))
      state.polls = 0
      const made = context.callFunction(ctor, context.undefined, ...args)
      for (const a of args) a.dispose()
      ctor.dispose()
      if (made.error !== undefined) {
        const err = context.dump(made.error) as { message?: string }
        made.error.dispose()
        parse.dispose()
        stringify.dispose()
        throw new InvalidValidatorError(`the ${kind} does not compile: ${err?.message ?? String(err)}`)
      }
      const fn = made.value
      const locked = context.evalCode(LOCKDOWN)
      if (locked.error !== undefined) {
        const err = context.dump(locked.error) as { message?: string }
        locked.error.dispose()
        throw new Error(`sandbox lockdown failed: ${err?.message}`)
      }
      locked.value.dispose()
      const e: Entry = { runtime, context, fn, parse, stringify }
      entries.set(key, e)
      // Freeze the function itself (and its prototype object) like every other reachable object.
      const freeze = context.unwrapResult(context.evalCode('(function (f) { Object.freeze(f.prototype); Object.freeze(f) })'))
      context.unwrapResult(context.callFunction(freeze, context.undefined, fn)).dispose()
      freeze.dispose()
      while (entries.size > maxEntries) dispose(entries.keys().next().value!)
      return e
    } catch (err) {
      if (!entries.has(key)) {
        context.dispose()
        runtime.dispose()
      }
      throw err
    }
  }

  function toQuickJS(e: Entry, value: JSONValue | undefined): QuickJSHandle {
    if (value === undefined) return e.context.undefined
    if (typeof value === 'string') return e.context.newString(value)
    const text = e.context.newString(JSON.stringify(value))
    try {
      return e.context.unwrapResult(e.context.callFunction(e.parse, e.context.undefined, text))
    } finally {
      text.dispose()
    }
  }

  function call(kind: SandboxKind, code: string, args: Array<JSONValue | undefined>): { e: Entry; result: QuickJSHandle } {
    const key = `${kind}\u0000${code}`
    const e = entry(kind, code)
    const handles = args.map((a) => toQuickJS(e, a))
    state.polls = 0
    state.timedOut = false
    state.memory = false
    let out
    try {
      out = e.context.callFunction(e.fn, e.context.undefined, ...handles)
    } catch (err) {
      // The host stack overflowed inside wasm, or the module trapped: nothing in it is reusable.
      broken = true
      entries.clear()
      throw new ValidatorError(`the ${kind} crashed the sandbox: ${(err as Error).message}`, { cause: err })
    } finally {
      for (const h of handles) if (h !== e.context.undefined) h.dispose()
    }
    if (out.error === undefined) return { e, result: out.value }
    const thrown = e.context.dump(out.error) as { name?: string; message?: string } | null
    out.error.dispose()
    const message = thrown !== null && typeof thrown === 'object' ? String(thrown.message) : String(thrown)
    if (state.memory || (thrown?.name === 'InternalError' && message === 'out of memory') || (thrown === null && state.polls === 0)) {
      // Freed runtimes return their memory to the module's allocator for the next ones.
      dispose(key)
      throw new ValidatorMemoryError(`the ${kind} ran past its memory limit`)
    }
    if (state.timedOut) {
      dispose(key)
      throw new ValidatorTimeoutError(`the ${kind} ran past its budget of ${pollBudget} interrupt polls`)
    }
    throw new ValidatorError(`the ${kind} threw: ${thrown?.name ?? 'Error'}: ${message}`)
  }

  return {
    async check(kind, code) {
      await ready()
      entry(kind, code)
    },

    async validate(code, writer, event, instance) {
      await ready()
      const { e, result } = call('validator', code, [writer, event, instance])
      try {
        const type = e.context.typeof(result)
        if (type === 'boolean') return e.context.dump(result) === true ? true : 'app denied net record body'
        if (type === 'string') return String(e.context.getString(result))
        return 'app denied net record body'
      } finally {
        result.dispose()
      }
    },

    async filter(code, reader, instance) {
      await ready()
      const { e, result } = call('filter', code, [reader, instance])
      try {
        const type = e.context.typeof(result)
        if (type === 'undefined') return null
        if (type !== 'object') throw new ValidatorError('a read filter must return an object or null')
        const text = e.context.unwrapResult(e.context.callFunction(e.stringify, e.context.undefined, result))
        const json = e.context.getString(text)
        text.dispose()
        let value
        try {
          value = toJSONValue(JSON.parse(json) as unknown)
        } catch (err) {
          throw new ValidatorError(`a read filter must return a JSON object: ${(err as Error).message}`, { cause: err })
        }
        if (value === null) return null
        if (!isObject(value)) throw new ValidatorError('a read filter must return an object or null')
        return value
      } finally {
        result.dispose()
      }
    },

    dispose() {
      for (const k of [...entries.keys()]) dispose(k)
    }
  }
}
