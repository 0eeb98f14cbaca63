/**
 * Collection definitions: checking a config (name, JSON Schema, indexes) and validating instances
 * against the schema with ajv. Compiled schemas are cached by their canonical JSON, so every
 * collection with the same schema shares one validator.
 */
import AjvModule, { type ValidateFunction } from 'ajv'
import { InvalidIndexError, InvalidNameError, InvalidSchemaError, SchemaValidationError } from './errors.js'
import { canonicalJSON, checkString, parsePath, toJSONValue } from './json.js'
import type { CollectionConfig, CollectionInfo, JSONObject, JSONSchema, JSONValue } from './types.js'

const NAME = /^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/
const INDEXABLE = new Set(['string', 'number', 'integer', 'boolean'])
const KNOWN_DRAFTS = new Set([
  'http://json-schema.org/draft-04/schema#', 'http://json-schema.org/draft-06/schema#',
  'http://json-schema.org/draft-07/schema#', 'http://json-schema.org/schema#',
  'https://json-schema.org/draft-04/schema', 'https://json-schema.org/draft-07/schema'
])
const MAX_INDEXES = 64
const MAX_CODE_CHARS = 64 * 1024

export const DEFAULT_SCHEMA: JSONSchema = { type: 'object', properties: { _id: { type: 'string' } }, required: ['_id'] }

type AjvCtor = typeof AjvModule
// ajv is CommonJS: under some loaders the class is the default export's `default`.
const Ajv = ((AjvModule as unknown as { default?: AjvCtor }).default ?? AjvModule)
// Each schema gets a fresh ajv instance: ajv registers `$id`s globally, so a shared instance would
// accept or refuse a schema depending on what this process compiled before — peers must agree.
// Formats are not validated (ajv-formats is not part of the deterministic rule set).
// The schema itself is checked against the draft-07 meta-schema by one shared instance
// (`validateSchema` registers nothing).
const options = { strict: false, allErrors: true, validateFormats: false } as const
const meta = new Ajv({ ...options })
const newAjv = (): InstanceType<AjvCtor> => new Ajv({ ...options, validateSchema: false })
const compiled = new Map<string, ValidateFunction>()
const byInfo = new WeakMap<CollectionInfo, ValidateFunction>()

export function checkName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 100) {
    throw new InvalidNameError(`${what} may only contain alphanumeric characters or non-consecutive hyphens, and cannot begin or end with a hyphen`)
  }
  return name
}

/** An own property (never one of Object.prototype's: `constructor`, `__proto__`…). */
function own(o: JSONObject, key: string): JSONValue | undefined {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined
}

function localRef(schema: JSONObject, node: JSONValue | undefined): JSONValue | undefined {
  for (let hops = 0; hops < 16; hops++) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return node
    const ref = node.$ref
    if (typeof ref !== 'string') return node
    if (!ref.startsWith('#/')) return undefined
    let cur: JSONValue | undefined = schema
    for (const part of ref.slice(2).split('/')) {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined
      cur = own(cur, part.replace(/~1/g, '/').replace(/~0/g, '~'))
    }
    node = cur
  }
  return undefined
}

/** The schema node at a dot path (following local `$ref`s), or undefined when not declared. */
function schemaAt(schema: JSONObject, parts: string[]): { node?: JSONObject; closed: boolean } {
  let node = localRef(schema, schema)
  for (const part of parts) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return { closed: false }
    const props = node.properties
    const closed = node.additionalProperties === false
    const next = props !== null && typeof props === 'object' && !Array.isArray(props) ? localRef(schema, own(props, part)) : undefined
    if (next === undefined) return { closed }
    node = next
  }
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? { node, closed: false } : { closed: false }
}

function typesOf(node: JSONObject): string[] {
  const t = node.type
  return typeof t === 'string' ? [t] : Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : []
}

function compile(schema: JSONObject): ValidateFunction {
  const key = canonicalJSON(schema)
  let fn: ValidateFunction | undefined = compiled.get(key)
  if (fn === undefined) {
    const copy = { ...schema }
    if (typeof copy.$schema === 'string' && KNOWN_DRAFTS.has(copy.$schema)) delete copy.$schema
    delete copy.$id
    let made: ValidateFunction
    try {
      if (!meta.validateSchema(copy)) throw new Error(meta.errorsText(meta.errors))
      made = newAjv().compile(copy)
    } catch (err) {
      throw new InvalidSchemaError(`the collection schema does not compile: ${(err as Error).message}`, { cause: err })
    }
    if (compiled.size > 1000) compiled.clear()
    compiled.set(key, made)
    fn = made
  }
  return fn
}

/**
 * Check a collection config and fill in its defaults. Throws InvalidNameError, InvalidSchemaError
 * or InvalidIndexError. (Validator and filter code is compiled by the sandbox.)
 */
export function normalizeConfig(config: CollectionConfig): CollectionInfo {
  if (config === null || typeof config !== 'object') throw new InvalidSchemaError('a collection config must be an object')
  const name = checkName(config.name, 'collection name')
  let schemaValue: JSONValue
  try {
    schemaValue = toJSONValue(config.schema ?? DEFAULT_SCHEMA)
  } catch (err) {
    // A `__proto__` key or a malformed string keeps its own name (as it does in an instance).
    if ((err as Error).name === 'InvalidStringError' || ((err as Error).name === 'InvalidInstanceError' && (err as Error).message.includes('__proto__'))) throw err
    throw new InvalidSchemaError('the collection schema is not JSON', { cause: err })
  }
  if (schemaValue === null || typeof schemaValue !== 'object' || Array.isArray(schemaValue)) throw new InvalidSchemaError('the collection schema must be an object')
  const schema = schemaValue
  const id = schemaAt(schema, ['_id']).node
  if (id === undefined || !typesOf(id).includes('string') || typesOf(id).length !== 1) {
    throw new InvalidSchemaError('the collection schema _id property must be a string')
  }
  compile(schema)
  const indexes: Array<{ path: string; unique: boolean }> = []
  const rawIndexes: unknown = config.indexes ?? []
  if (!Array.isArray(rawIndexes) || rawIndexes.length > MAX_INDEXES) throw new InvalidIndexError(`indexes must be an array of at most ${MAX_INDEXES}`)
  for (const raw of rawIndexes as unknown[]) {
    const ix = raw as { path?: unknown; unique?: unknown }
    const parts = parsePath(ix?.path)
    if (parts === undefined) throw new InvalidIndexError('an index path must be a non-empty dot path')
    const path = checkString(parts.join('.'), 'an index path')
    if (path === '_id') throw new InvalidIndexError('cannot create custom index on _id')
    if (ix.unique !== undefined && typeof ix.unique !== 'boolean') throw new InvalidIndexError('index unique must be a boolean')
    if (indexes.some((i) => i.path === path)) throw new InvalidIndexError(`duplicate index on ${path}`)
    const at = schemaAt(schema, parts)
    if (at.node !== undefined) {
      const types = typesOf(at.node)
      if (types.length > 0 && !types.some((t) => INDEXABLE.has(t))) throw new InvalidIndexError(`value not indexable: ${path} is ${types.join('|')}`)
    } else if (at.closed) {
      throw new InvalidIndexError(`collection schema does not contain path ${path}`)
    }
    indexes.push({ path, unique: ix.unique === true })
  }
  const code = (v: unknown, what: string): string => {
    if (v === undefined || v === null) return ''
    if (typeof v !== 'string' || v.length > MAX_CODE_CHARS) throw new InvalidSchemaError(`${what} must be a string of at most ${MAX_CODE_CHARS} characters`)
    return checkString(v, what)
  }
  return {
    name,
    schema,
    indexes,
    writeValidator: code(config.writeValidator, 'writeValidator'),
    readFilter: code(config.readFilter, 'readFilter')
  }
}

/** Validate an instance against a collection's schema; SchemaValidationError lists `path: message`. */
export function validateInstance(info: CollectionInfo, instance: JSONObject): void {
  let fn = byInfo.get(info)
  if (fn === undefined) {
    fn = compile(info.schema as JSONObject)
    byInfo.set(info, fn)
  }
  if (fn(instance)) return
  const detail = (fn.errors ?? []).slice(0, 8).map((e) => `${e.instancePath === '' ? '(root)' : e.instancePath}: ${e.message ?? 'invalid'}`).join('; ')
  throw new SchemaValidationError(`instance doesn't correspond to schema: ${detail}`)
}
