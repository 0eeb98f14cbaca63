/**
 * The replicated state in the key-value store: collection configs, instances and index entries.
 * Writes go through an overlay; every instance write keeps the collection's index entries in
 * step, and every config change drops the entries of removed indexes and back-fills added ones.
 * Unique constraints are checked by the caller (apply.ts) before writing.
 */
import { UniqueConstraintError } from './errors.js'
import { getPath, parsePath } from './json.js'
import { encodeIndexValue, fromUtf8, utf8Fast as utf8, type Layout } from './keys.js'
import type { Overlay, StateReader } from './overlay.js'
import type { CollectionInfo, JSONObject } from './types.js'

export interface StoredDoc { json: string; doc: JSONObject }

const configMemo = new Map<string, CollectionInfo>()
const pathMemo = new Map<string, string[]>()

export function pathParts(path: string): string[] {
  let parts = pathMemo.get(path)
  if (parts === undefined) {
    parts = parsePath(path) ?? [path]
    if (pathMemo.size > 10_000) pathMemo.clear()
    pathMemo.set(path, parts)
  }
  return parts
}

/** Parse a stored config; the same text always yields the same object (compiled caches key on it). */
export function parseConfig(text: string): CollectionInfo {
  let info = configMemo.get(text)
  if (info === undefined) {
    info = JSON.parse(text) as CollectionInfo
    if (configMemo.size > 1000) configMemo.clear()
    configMemo.set(text, info)
  }
  return info
}

export async function getConfig(r: StateReader, layout: Layout, collection: string): Promise<CollectionInfo | undefined> {
  const v = await r.get(layout.config(collection))
  return v === undefined ? undefined : parseConfig(fromUtf8(v))
}

export async function listConfigs(r: StateReader, layout: Layout): Promise<CollectionInfo[]> {
  const out: CollectionInfo[] = []
  for await (const [, v] of r.range({ prefix: layout.configPrefix() })) out.push(parseConfig(fromUtf8(v)))
  return out
}

export function parseDoc(bytes: Uint8Array): StoredDoc {
  const json = fromUtf8(bytes)
  return { json, doc: JSON.parse(json) as JSONObject }
}

export async function getDoc(r: StateReader, layout: Layout, collection: string, id: string, key = layout.doc(collection, id)): Promise<StoredDoc | undefined> {
  const v = await r.get(key)
  return v === undefined ? undefined : parseDoc(v)
}

/** The key of the unique index entry `doc` has for `path`, or undefined when the value is not indexable. */
export function uniqueKey(layout: Layout, collection: string, path: string, doc: JSONObject): Uint8Array | undefined {
  const enc = encodeIndexValue(getPath(doc, pathParts(path)))
  return enc === undefined ? undefined : layout.indexEntry(collection, path, true, enc, '')
}

function indexKey(layout: Layout, collection: string, ix: { path: string; unique: boolean }, doc: JSONObject | undefined, id: string): Uint8Array | undefined {
  if (doc === undefined) return undefined
  const enc = encodeIndexValue(getPath(doc, pathParts(ix.path)))
  return enc === undefined ? undefined : layout.indexEntry(collection, ix.path, ix.unique, enc, id)
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Replace instance `id` (`prev` → `next`; undefined means absent), with its index entries. */
export function writeDoc(ov: Overlay, layout: Layout, info: CollectionInfo, id: string, prev: JSONObject | undefined, next: StoredDoc | undefined, key = layout.doc(info.name, id)): void {
  if (next === undefined) ov.del(key)
  else ov.put(key, utf8(next.json))
  const idBytes = utf8(id)
  for (const ix of info.indexes) {
    const before = indexKey(layout, info.name, ix, prev, id)
    const after = indexKey(layout, info.name, ix, next?.doc, id)
    if (sameBytes(before, after)) continue
    if (before !== undefined) ov.del(before)
    if (after !== undefined) ov.put(after, idBytes)
  }
}

function indexChanges(prev: CollectionInfo | undefined, next: CollectionInfo | undefined): { dropped: Array<{ path: string; unique: boolean }>; added: Array<{ path: string; unique: boolean }> } {
  const key = (i: { path: string; unique: boolean }): string => `${i.unique ? 'u' : 'x'}:${i.path}`
  const before = new Map((prev?.indexes ?? []).map((i) => [key(i), i]))
  const after = new Map((next?.indexes ?? []).map((i) => [key(i), i]))
  return {
    dropped: [...before].filter(([k]) => !after.has(k)).map(([, i]) => i),
    added: [...after].filter(([k]) => !before.has(k)).map(([, i]) => i)
  }
}

/**
 * Replace a collection's config (`undefined` = absent): drop the entries of removed indexes and
 * back-fill added ones from the instances. A unique index over duplicate values is a
 * UniqueConstraintError (nothing is written to the overlay then).
 */
export async function setConfig(ov: Overlay, layout: Layout, name: string, prev: CollectionInfo | undefined, next: CollectionInfo | undefined, nextText: string | undefined): Promise<void> {
  const { dropped, added } = indexChanges(prev, next)
  const puts: Array<[Uint8Array, Uint8Array]> = []
  if (added.length > 0) {
    const seen = added.map(() => new Set<string>())
    for await (const [, v] of ov.range({ prefix: layout.docPrefix(name) })) {
      const { doc } = parseDoc(v)
      const id = doc._id as string
      added.forEach((ix, i) => {
        const enc = encodeIndexValue(getPath(doc, pathParts(ix.path)))
        if (enc === undefined) return
        if (ix.unique) {
          const s = String.fromCharCode(...enc)
          if (seen[i]!.has(s)) throw new UniqueConstraintError(`can't create unique index on ${ix.path} (duplicate instances exist)`)
          seen[i]!.add(s)
        }
        puts.push([layout.indexEntry(name, ix.path, ix.unique, enc, id), utf8(id)])
      })
    }
  }
  for (const ix of dropped) {
    const dels: Uint8Array[] = []
    for await (const [k] of ov.range({ prefix: layout.indexPrefix(name, ix.path, ix.unique) })) dels.push(k)
    for (const k of dels) ov.del(k)
  }
  for (const [k, v] of puts) ov.put(k, v)
  if (next === undefined || nextText === undefined) ov.del(layout.config(name))
  else ov.put(layout.config(name), utf8(nextText))
}
