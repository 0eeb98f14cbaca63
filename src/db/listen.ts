/**
 * Listeners: every change the DB applies (local or remote) and every rejected event is published
 * once, after its store batch committed; each listener receives those matching any of its filters
 * (no filters: everything). Delivery is lossless: a listener that falls more than `bufferSize`
 * events behind ends with SubscriberOverflowError instead of missing events. Create and save
 * events carry the instance through the listener's read filter (an instance it hides is skipped;
 * one it fails on is skipped too and reported to `onFilterError`).
 */
import { createBroadcast, type Broadcast } from '../core/index.js'
import { FILTER_FAILED, show } from './filter.js'
import type { Sandbox } from './sandbox.js'
import type { CollectionInfo, ListenEvent, ListenFilter, ListenOptions } from './types.js'

export interface Listeners {
  publish(events: readonly ListenEvent[]): void
  /** `bareHidden`: a change the read filter hides comes without its instance rather than not at all (live queries). */
  listen(filters: readonly ListenFilter[], options: ListenOptions & { defaultIdentity: string | undefined; bareHidden?: boolean }): AsyncIterable<ListenEvent>
  close(): void
}

function matches(filter: ListenFilter, e: ListenEvent): boolean {
  const type = filter.type ?? 'all'
  if (type !== 'all' && type !== e.type) return false
  if (filter.collection !== undefined && filter.collection !== e.collection) return false
  if (filter.instanceID !== undefined && filter.instanceID !== e.instanceID) return false
  return true
}

export function createListeners(deps: { sandbox: Sandbox; config: (collection: string) => Promise<CollectionInfo | undefined> }): Listeners {
  const channel: Broadcast<ListenEvent> = createBroadcast<ListenEvent>()
  return {
    publish(events) {
      for (const e of events) channel.publish(e)
    },
    listen(filters, options) {
      const list = [...filters]
      const source = channel.subscribe({
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        ...(options.bufferSize !== undefined ? { bufferSize: options.bufferSize } : {}),
        filter: (e) => list.length === 0 || list.some((f) => matches(f, e))
      })
      const who = { identity: options.identity ?? options.defaultIdentity, onFilterError: options.onFilterError }
      async function * deliver(): AsyncGenerator<ListenEvent> {
        for await (const e of source) {
          if (e.type !== 'create' && e.type !== 'save') { yield e; continue }
          const info = await deps.config(e.collection)
          if (info === undefined || info.readFilter === '' || e.instance === undefined) { yield e; continue }
          const shown = await show(deps.sandbox, info, who, e.instance)
          if (shown !== null && shown !== FILTER_FAILED) yield { ...e, instance: shown }
          else if (options.bareHidden === true) yield { type: e.type, collection: e.collection, instanceID: e.instanceID }
        }
      }
      return deliver()
    },
    close() {
      channel.close()
    }
  }
}
