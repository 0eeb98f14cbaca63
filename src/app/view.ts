/**
 * The task list: plain DOM, keyed by task ID, updated in place (a remote change never throws away
 * an edit in progress). It knows nothing of Weft: it renders the tasks a live query yields and
 * reports what the user asked for through callbacks. People appear by the names they gave
 * (their identities are in the tooltips); a delete asks first.
 */
import { NOTE_MAX, TITLE_MAX, type Task } from './tasks.js'

export interface TaskActions {
  toggle(task: Task, done: boolean): void
  edit(task: Task, change: { title: string; note?: string }): Promise<void>
  remove(task: Task): void
}

interface Row {
  li: HTMLLIElement
  task: Task
  editing: boolean
}

/** A tiny element helper: `h('button', { className: 'x' }, 'text')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const { dataset, ...rest } = props
  const el = Object.assign(document.createElement(tag), rest)
  if (dataset !== undefined) Object.assign(el.dataset, dataset)
  el.append(...children)
  return el
}

function order(a: Task, b: Task): number {
  return a.createdAt - b.createdAt || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0)
}

export class TaskList {
  private readonly rows = new Map<string, Row>()

  constructor (
    private readonly list: HTMLUListElement,
    private readonly empty: HTMLElement,
    private readonly me: () => string,
    private readonly actions: TaskActions
  ) {}

  /** The display name an identity gave its tasks here (undefined: no task of theirs). */
  authorName(identity: string): string | undefined {
    for (const { task } of this.rows.values()) if (task.author === identity && task.authorName !== '') return task.authorName
    return undefined
  }

  /** Show exactly `tasks` (a live query's new result), updating rows in place. */
  sync(tasks: readonly Task[]): void {
    const keep = new Set(tasks.map((t) => t._id))
    for (const id of [...this.rows.keys()]) if (!keep.has(id)) this.remove(id)
    for (const t of tasks) {
      const row = this.rows.get(t._id)
      if (row === undefined || JSON.stringify(row.task) !== JSON.stringify(t)) this.upsert(t)
    }
    this.updateEmpty()
  }

  /** Replace everything (a board was opened). */
  reset(tasks: Task[]): void {
    this.rows.clear()
    this.list.replaceChildren()
    for (const t of tasks) this.upsert(t)
    this.updateEmpty()
  }

  upsert(task: Task): void {
    const row = this.rows.get(task._id)
    if (row === undefined) {
      const created: Row = { li: h('li', { className: 'task', dataset: { id: task._id } }), task, editing: false }
      this.rows.set(task._id, created)
      this.render(created)
      this.place(created)
    } else {
      const moved = order(row.task, task) !== 0
      row.task = task
      if (!row.editing) this.render(row)
      if (moved) this.place(row)
    }
    this.updateEmpty()
  }

  remove(id: string): void {
    this.rows.get(id)?.li.remove()
    this.rows.delete(id)
    this.updateEmpty()
  }

  private place(row: Row): void {
    const after = [...this.rows.values()]
      .filter((r) => r !== row && r.li.isConnected && order(r.task, row.task) > 0)
      .sort((a, b) => order(a.task, b.task))[0]
    this.list.insertBefore(row.li, after?.li ?? null)
  }

  private updateEmpty(): void {
    this.empty.hidden = this.rows.size > 0
  }

  private render(row: Row): void {
    const { task } = row
    const mine = task.author === this.me()
    row.li.classList.toggle('done', task.done)
    row.li.dataset.mine = String(mine)

    const check = h('input', { type: 'checkbox', checked: task.done, title: task.done ? 'Mark as not done' : 'Mark as done' })
    check.setAttribute('aria-label', `Done: ${task.title}`)
    check.addEventListener('change', () => { this.actions.toggle(task, check.checked) })

    const author = h('span', { className: 'author', title: `identity ${task.author}` }, mine ? 'you' : task.authorName !== '' ? task.authorName : 'someone')
    const body = h('div', { className: 'task-body' },
      h('span', { className: 'task-title' }, task.title),
      h('span', { className: 'task-meta' }, 'by ', author))
    if (mine && task.note !== undefined) {
      body.append(h('span', { className: 'task-note', title: 'Only you see this note' }, task.note))
    }

    const edit = h('button', { type: 'button', className: 'edit', textContent: 'Edit' })
    edit.addEventListener('click', () => { this.startEdit(row) })
    const del = h('button', {
      type: 'button',
      className: 'delete',
      textContent: 'Delete',
      title: mine ? 'Delete this task' : `Only ${task.authorName} can delete this task (the board's write validator refuses anyone else)`
    })
    const actions = h('div', { className: 'task-actions' }, edit, del)
    del.addEventListener('click', () => { this.confirmDelete(row, actions) })
    row.li.replaceChildren(check, body, actions)
  }

  /** Ask before deleting: the row's buttons become "Delete this task? [Yes, delete] [Keep]". */
  private confirmDelete(row: Row, actions: HTMLElement): void {
    const yes = h('button', { type: 'button', className: 'delete primary', textContent: 'Yes, delete' })
    const no = h('button', { type: 'button', textContent: 'Keep' })
    const restore = (): void => { if (!row.editing) this.render(row) }
    yes.addEventListener('click', () => { restore(); this.actions.remove(row.task) })
    no.addEventListener('click', restore)
    actions.replaceChildren(h('span', { className: 'confirm' }, 'Delete this task?'), yes, no)
    no.focus()
  }

  private startEdit(row: Row): void {
    const { task } = row
    const mine = task.author === this.me()
    row.editing = true
    const title = h('input', { className: 'edit-title', value: task.title, maxLength: TITLE_MAX, required: true })
    title.setAttribute('aria-label', 'Title')
    const note = h('input', { className: 'edit-note', value: task.note ?? '', maxLength: NOTE_MAX, placeholder: 'Private note (only you see it)' })
    note.setAttribute('aria-label', 'Private note')
    const save = h('button', { type: 'submit', className: 'primary', textContent: 'Save' })
    const cancel = h('button', { type: 'button', textContent: 'Cancel' })
    const form = h('form', { className: 'task-edit' }, title, ...(mine ? [note] : []), save, cancel)
    const done = (): void => { row.editing = false; this.render(row) }
    cancel.addEventListener('click', done)
    form.addEventListener('keydown', (e) => { if (e.key === 'Escape') done() })
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      const change = { title: title.value.trim(), ...(mine ? { note: note.value.trim() } : {}) }
      save.disabled = true
      // Stay in edit mode if the change is refused, so nothing typed is lost.
      this.actions.edit(row.task, change).then(done, () => { save.disabled = false })
    })
    row.li.replaceChildren(form)
    title.focus()
    title.select()
  }
}
