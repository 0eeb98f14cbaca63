/**
 * The board's collections: `tasks` (its JSON Schema, indexes, write validator and read filter) and
 * `board` (one instance, `_id: 'board'`: the board's title and who made it, so a rename reaches
 * every member). The definitions travel inside the board's thread as events, so a browser that
 * joins through an invite gets them (and enforces them) without being told. The TypeScript types
 * of the instances are derived from the schemas (json-schema-to-ts's `FromSchema`), so the two
 * cannot drift apart; the app opens the collections typed (`db.collection<Task>('tasks')`).
 *
 * The rules (checked by every peer when it applies an event, so every peer decides alike):
 * - a task names its author: the identity that signed the record creating it (`writer`);
 * - anyone on the board may rename a task or tick it done;
 * - only the author may delete it, or change its author, author name or private note;
 * - the private `note` is shown to its author only (the read filter removes it for everyone else).
 *
 * "Private" is a view rule, not a secret: every member holds the board's read key and could read
 * the raw events. Keep real secrets out of shared threads.
 */
import type { FromSchema } from 'json-schema-to-ts'
import type { CollectionConfig } from '../client/index.js'

export const TASKS = 'tasks'
export const BOARD = 'board'
/** The `_id` of the board collection's one instance. */
export const BOARD_ID = 'board'

export const TITLE_MAX = 200
export const NOTE_MAX = 1000
export const NAME_MAX = 40
export const BOARD_TITLE_MAX = 60

/**
 * A task: `author` is the identity (multibase public key) of the writer that created it,
 * `authorName` their display name then (a label, not a proof), `createdAt` wall-clock ms by the
 * author's clock (for ordering only), `note` shown to the author only.
 */
const taskSchema = {
  type: 'object',
  properties: {
    _id: { type: 'string' },
    title: { type: 'string', minLength: 1, maxLength: TITLE_MAX },
    done: { type: 'boolean' },
    author: { type: 'string', minLength: 1 },
    authorName: { type: 'string', maxLength: NAME_MAX },
    createdAt: { type: 'number' },
    note: { type: 'string', maxLength: NOTE_MAX }
  },
  required: ['_id', 'title', 'done', 'author', 'authorName', 'createdAt'],
  additionalProperties: false
} as const

export type Task = FromSchema<typeof taskSchema>

/** The board itself: its title (anyone on the board may rename it) and who created it. */
const boardSchema = {
  type: 'object',
  properties: {
    _id: { type: 'string', const: BOARD_ID },
    title: { type: 'string', minLength: 1, maxLength: BOARD_TITLE_MAX },
    creator: { type: 'string', minLength: 1 },
    creatorName: { type: 'string', maxLength: NAME_MAX }
  },
  required: ['_id', 'title', 'creator', 'creatorName'],
  additionalProperties: false
} as const

export type BoardInfo = FromSchema<typeof boardSchema>

/**
 * Body of `function (writer, event, instance)`: `true` accepts, a string is the reason for
 * refusing. `instance` is the stored task before the change (undefined for a create), and
 * `event.patch.json_patch` the whole task (create) or the merge patch (save).
 */
const writeValidator = `
  var change = event.patch;
  var patch = change.json_patch || {};
  if (change.type === 'delete') {
    if (!instance) return true;
    return instance.author === writer ? true : 'only the author of a task can delete it';
  }
  if (!instance) {
    return patch.author === writer ? true : 'a new task must name its writer as author';
  }
  var own = ['author', 'authorName', 'note'];
  for (var i = 0; i < own.length; i++) {
    if (own[i] in patch && writer !== instance.author) return 'only the author can change a task\\'s ' + own[i];
  }
  if ('author' in patch && patch.author !== instance.author) return 'the author of a task cannot change';
  return true;
`

/** Body of `function (reader, instance)`: the task as `reader` may see it. */
const readFilter = `
  if (instance.author !== reader) delete instance.note;
  return instance;
`

export const tasksCollection: CollectionConfig = {
  name: TASKS,
  schema: taskSchema,
  // `title` is unique on a board; `author` answers "my tasks" through the index.
  indexes: [{ path: 'title', unique: true }, { path: 'author' }],
  writeValidator,
  readFilter
}

/** Body of the board's write validator: its creator is who signed it, and stays; it is never deleted. */
const boardValidator = `
  var change = event.patch;
  var patch = change.json_patch || {};
  if (change.type === 'delete') return 'a board is not deleted';
  if (!instance) return patch.creator === writer ? true : 'the board must name its writer as creator';
  if (('creator' in patch && patch.creator !== instance.creator) || ('creatorName' in patch && writer !== instance.creator)) return 'the creator of a board cannot change';
  return true;
`

export const boardCollection: CollectionConfig = {
  name: BOARD,
  schema: boardSchema,
  writeValidator: boardValidator
}
