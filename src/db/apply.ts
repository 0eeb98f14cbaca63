/**
 * The reducer: applying one event (one write transaction) to the state in an overlay, checking
 * everything against the state just before each operation — who may make the change (owners,
 * writers), collection existence, JSON Schema, document size, unique indexes, the write
 * validator. Any failure rejects the whole event (the caller discards the overlay). The same
 * function runs for local commits, their dry runs and remote events, so every peer accepts and
 * rejects alike.
 */
import {
  CollectionExistsError, CollectionNotFoundError, InstanceExistsError, InvalidEventError, OversizedDocumentError,
  UniqueConstraintError, ValidatorRejectedError
} from './errors.js'
import { isGovernanceOp, type Op } from './event.js'
import { applyGovernanceOp, readRoles, requireOwner, requireWriter, undoGovStep, type OwnerBasis, type GovStep, type Roles } from './governance.js'
import { applyMergePatch, canonicalJSON, isObject } from './json.js'
import { fromUtf8, type Layout } from './keys.js'
import type { Overlay } from './overlay.js'
import type { Sandbox } from './sandbox.js'
import { checkName, normalizeConfig, validateInstance } from './schema.js'
import { getConfig, getDoc, parseConfig, parseDoc, setConfig, uniqueKey, writeDoc, type StoredDoc } from './state.js'
import { configToJSON } from './event.js'
import type { CollectionConfig, CollectionInfo, InstanceChange, JSONObject } from './types.js'

/** Largest instance, as canonical JSON in UTF-8. */
export const MAX_DOCUMENT_BYTES = 256 * 1024

/** One step of an event's undo record: the value before the event changed it. */
export type UndoStep =
  | ['d', string, string, string | null]
  | ['c', string, string | null]
  | GovStep

export interface ApplyContext {
  layout: Layout
  sandbox: Sandbox
  /** Identity of the event's author (`writer` of validators). */
  writer: string | undefined
  /** Timestamp shown to validators (HLC wall time, ms). */
  timestamp: number
  /** How the DB's owners are known. */
  gov: OwnerBasis
  /** What the ops read was read ahead already (with the events of a batch): skip reading it ahead. */
  prefetched?: boolean
}

export interface ApplyResult {
  changes: InstanceChange[]
  undo: UndoStep[]
  /** Whether a write validator ran (its answer may depend on the timestamp). */
  validated: boolean
}

const encoder = new TextEncoder()

function checkSize(json: string, id: string): void {
  if (json.length * 3 <= MAX_DOCUMENT_BYTES) return
  if (json.length > MAX_DOCUMENT_BYTES || encoder.encode(json).byteLength > MAX_DOCUMENT_BYTES) {
    throw new OversizedDocumentError(`instance ${id} is larger than ${MAX_DOCUMENT_BYTES} bytes`)
  }
}

/** Read ahead what the operations will read (instances, and unique entries of created ones). */
async function prefetch(ov: Overlay, layout: Layout, ops: readonly Op[]): Promise<void> {
  await ov.prefetch(await readKeys(ov, layout, ops))
}

/** The keys the operations will read: instances, and the unique entries of created ones. */
export async function readKeys(ov: Overlay, layout: Layout, ops: readonly Op[]): Promise<Uint8Array[]> {
  const configs = new Map<string, CollectionInfo | undefined>()
  for (const op of ops) if (!isGovernanceOp(op) && !configs.has(op.c)) configs.set(op.c, await getConfig(ov, layout, op.c))
  const keys: Uint8Array[] = []
  for (const op of ops) {
    if (op.t !== 'create' && op.t !== 'save' && op.t !== 'delete') continue
    keys.push(layout.doc(op.c, op.id))
    const info = configs.get(op.c)
    if (op.t === 'create' && info !== undefined) {
      for (const ix of info.indexes) {
        if (!ix.unique) continue
        const k = uniqueKey(layout, op.c, ix.path, op.doc)
        if (k !== undefined) keys.push(k)
      }
    }
  }
  return keys
}

async function requireCollection(ov: Overlay, layout: Layout, name: string): Promise<CollectionInfo> {
  const info = await getConfig(ov, layout, name)
  if (info === undefined) throw new CollectionNotFoundError(`collection not found: ${name}`)
  return info
}

async function checkUnique(ov: Overlay, ctx: ApplyContext, info: CollectionInfo, id: string, doc: JSONObject): Promise<void> {
  for (const ix of info.indexes) {
    if (!ix.unique) continue
    const k = uniqueKey(ctx.layout, info.name, ix.path, doc)
    if (k === undefined) continue
    const holder = await ov.get(k)
    if (holder !== undefined && fromUtf8(holder) !== id) {
      throw new UniqueConstraintError(`unique constraint violation: ${info.name}.${ix.path}`)
    }
  }
}

async function runValidator(ctx: ApplyContext, info: CollectionInfo, type: 'create' | 'save' | 'delete', id: string, patch: JSONObject | undefined, instance: JSONObject | undefined): Promise<void> {
  const event: JSONObject = {
    timestamp: ctx.timestamp,
    _id: id,
    collection_name: info.name,
    patch: patch === undefined ? { type, instance_id: id } : { type, instance_id: id, json_patch: patch }
  }
  const verdict = await ctx.sandbox.validate(info.writeValidator, ctx.writer, event, instance)
  if (verdict !== true) throw new ValidatorRejectedError(verdict === 'app denied net record body' ? verdict : `app denied net record body: ${verdict}`)
}

async function configFrom(ctx: ApplyContext, name: string, raw: JSONObject): Promise<{ info: CollectionInfo; text: string }> {
  if (raw.name !== name) throw new InvalidEventError('the config name does not match the collection')
  const normalized = normalizeConfig(raw as unknown as CollectionConfig)
  if (normalized.writeValidator !== '') await ctx.sandbox.check('validator', normalized.writeValidator)
  if (normalized.readFilter !== '') await ctx.sandbox.check('filter', normalized.readFilter)
  const text = canonicalJSON(configToJSON(normalized))
  return { info: parseConfig(text), text }
}

/**
 * Apply `ops` to `ov` (normally a child overlay of the batch). Throws the named error of the first
 * operation that fails; the caller then drops the overlay.
 */
export async function applyOps(ov: Overlay, ctx: ApplyContext, ops: readonly Op[]): Promise<ApplyResult> {
  const { layout } = ctx
  const result: ApplyResult = { changes: [], undo: [], validated: false }
  if (ctx.prefetched !== true) await prefetch(ov, layout, ops)
  // Configs read in this event (dropped whenever an op changes one).
  const configs = new Map<string, CollectionInfo>()
  const collection = async (name: string): Promise<CollectionInfo> => {
    let info = configs.get(name)
    if (info === undefined) {
      info = await requireCollection(ov, layout, name)
      configs.set(name, info)
    }
    return info
  }
  // Owners and writers as of the current op (read again after an op that changes them).
  let roles: Roles | undefined
  const currentRoles = async (): Promise<Roles> => (roles ??= await readRoles(ov, layout, ctx.gov))
  for (const op of ops) {
    if (op.t !== 'create' && op.t !== 'save' && op.t !== 'delete') configs.clear()
    if (isGovernanceOp(op)) {
      roles = undefined
      result.undo.push(...await applyGovernanceOp(ov, layout, ctx.gov, ctx.writer, op))
      continue
    }
    if (op.t === 'create' || op.t === 'save' || op.t === 'delete') requireWriter(await currentRoles(), ctx.writer)
    else requireOwner(await currentRoles(), ctx.writer, op.t)
    switch (op.t) {
      case 'create':
      case 'save': {
        const info = await collection(op.c)
        const key = layout.doc(op.c, op.id)
        const prev = await getDoc(ov, layout, op.c, op.id, key)
        let next: StoredDoc
        if (op.t === 'create') {
          if (prev !== undefined) throw new InstanceExistsError(`can't create already existing instance ${op.c}/${op.id}`)
          next = { json: op.json, doc: op.doc }
        } else {
          const merged = applyMergePatch(prev?.doc ?? {}, op.patch)
          if (!isObject(merged)) throw new InvalidEventError('a save must produce an object')
          merged._id = op.id
          next = { json: canonicalJSON(merged), doc: merged }
        }
        checkSize(next.json, op.id)
        validateInstance(info, next.doc)
        await checkUnique(ov, ctx, info, op.id, next.doc)
        if (info.writeValidator !== '') {
          result.validated = true
          await runValidator(ctx, info, op.t, op.id, op.t === 'create' ? op.doc : op.patch, prev?.doc)
        }
        writeDoc(ov, layout, info, op.id, prev?.doc, next, key)
        result.undo.push(['d', op.c, op.id, prev?.json ?? null])
        result.changes.push({ type: op.t, collection: op.c, instanceID: op.id, instance: next.doc })
        break
      }
      case 'delete': {
        const info = await collection(op.c)
        const prev = await getDoc(ov, layout, op.c, op.id)
        if (prev === undefined) break
        if (info.writeValidator !== '') {
          result.validated = true
          await runValidator(ctx, info, 'delete', op.id, undefined, prev.doc)
        }
        writeDoc(ov, layout, info, op.id, prev.doc, undefined)
        result.undo.push(['d', op.c, op.id, prev.json])
        result.changes.push({ type: 'delete', collection: op.c, instanceID: op.id })
        break
      }
      case 'newCollection': {
        checkName(op.c, 'collection name')
        if (await getConfig(ov, layout, op.c) !== undefined) throw new CollectionExistsError(`collection already registered: ${op.c}`)
        const { info, text } = await configFrom(ctx, op.c, op.config)
        await setConfig(ov, layout, op.c, undefined, info, text)
        result.undo.push(['c', op.c, null])
        break
      }
      case 'updateCollection': {
        const prev = await requireCollection(ov, layout, op.c)
        const { info, text } = await configFrom(ctx, op.c, op.config)
        await setConfig(ov, layout, op.c, prev, info, text)
        result.undo.push(['c', op.c, canonicalJSON(configToJSON(prev))])
        break
      }
      case 'deleteCollection': {
        const prev = await requireCollection(ov, layout, op.c)
        const docs: StoredDoc[] = []
        for await (const [, v] of ov.range({ prefix: layout.docPrefix(op.c) })) docs.push(parseDoc(v))
        for (const d of docs) {
          const id = d.doc._id as string
          writeDoc(ov, layout, prev, id, d.doc, undefined)
          result.undo.push(['d', op.c, id, d.json])
          result.changes.push({ type: 'delete', collection: op.c, instanceID: id })
        }
        await setConfig(ov, layout, op.c, prev, undefined, undefined)
        result.undo.push(['c', op.c, canonicalJSON(configToJSON(prev))])
        break
      }
    }
  }
  return result
}

/** Undo one event's steps (newest first) on `ov`. */
export async function undoSteps(ov: Overlay, layout: Layout, steps: readonly UndoStep[]): Promise<void> {
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!
    if (step[0] === 'g') {
      undoGovStep(ov, layout, step)
    } else if (step[0] === 'd') {
      const [, c, id, prevJSON] = step
      const info = await getConfig(ov, layout, c)
      if (info === undefined) throw new Error(`undo of ${c}/${id}: the collection is missing (corrupt undo record)`)
      const cur = await getDoc(ov, layout, c, id)
      writeDoc(ov, layout, info, id, cur?.doc, prevJSON === null ? undefined : { json: prevJSON, doc: JSON.parse(prevJSON) as JSONObject })
    } else {
      const [, c, prevText] = step
      const cur = await getConfig(ov, layout, c)
      await setConfig(ov, layout, c, cur, prevText === null ? undefined : parseConfig(prevText), prevText ?? undefined)
    }
  }
}
