/**
 * Typed collections: `db.collection<Task>('Tasks')` types a collection's instances as `Task`
 * (derive it from the collection's JSON Schema, e.g. with json-schema-to-ts's `FromSchema`, or
 * write it by hand). The types are a promise the schema keeps: every write is still validated
 * against the schema, and every read returns what the schema accepted.
 */
import type { InstanceChange, InstanceID, Rejection } from './types.js'

/** An instance to create: its `_id` may be left out (a new one is made). */
export type NewInstance<T> = Omit<T, '_id'> & { _id?: InstanceID }

/** A change of a typed collection's instance (the instance after a create or save). */
export type TypedChange<T> = Omit<InstanceChange, 'instance'> & { instance?: T }

/** What a typed collection's listener yields. */
export type CollectionEvent<T> = TypedChange<T> | Rejection
