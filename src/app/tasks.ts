/**
 * The board's one collection, `tasks`: its JSON Schema, indexes, write validator and read filter.
 * This definition travels inside the board's thread as an event, so a browser that joins through
 * an invite gets it (and enforces it) without being told.
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
import type { CollectionConfig, JSONSchema } from '../client/index.js'

export const TASKS = 'tasks'

export interface Task {
  _id: string
  title: string
  done: boolean
  /** Identity (multibase public key) of the writer that created the task. */
  author: string
  /** The author's display name when they created it (a label, not a proof). */
  authorName: string
  /** Wall-clock ms when it was created, by the author's clock (used for ordering only). */
  createdAt: number
  /** Shown to the author only. */
  note?: string
}

export const TITLE_MAX = 200
export const NOTE_MAX = 1000
export const NAME_MAX = 40

const schema: JSONSchema = {
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
}

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
  schema,
  // `title` is unique on a board; `author` answers "my tasks" through the index.
  indexes: [{ path: 'title', unique: true }, { path: 'author' }],
  writeValidator,
  readFilter
}
