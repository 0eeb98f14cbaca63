/**
 * The fluent query builder, shaped like the original JS client's: `where('name').eq('Alice')`,
 * `new Where('age').gt(30).and('city').eq('Paris').or(where('vip').eq(true))`, `.orderBy('age')`,
 * `.limitTo(10)`. A builder query is plain data (`toJSON()` gives the JSON form), so it can be
 * passed wherever a query is taken, also across a worker boundary.
 */
import { Operation, type CriterionJSON, type OperationCode, type QueryJSON, type QueryValue, type SortJSON } from './types.js'

function wrap(value: string | number | boolean): QueryValue {
  if (typeof value === 'string') return { string: value }
  if (typeof value === 'boolean') return { bool: value }
  return { float: value }
}

/** A query under construction: all `ands` hold, or else any of `ors`. */
export class Query implements QueryJSON {
  ands: CriterionJSON[] = []
  ors: QueryJSON[] = []
  sort?: SortJSON
  seek?: string
  limit?: number
  skip?: number
  index?: string

  /** Start a query with a condition on `fieldPath`. */
  static where(fieldPath: string): Criterion {
    return new Criterion(fieldPath, new Query())
  }

  /** Add a condition that must also hold. */
  and(fieldPath: string): Criterion {
    return new Criterion(fieldPath, this)
  }

  /** Match instances matching `query` too. */
  or(query: QueryJSON): Query {
    this.ors.push(query instanceof Query ? query.toJSON() : query)
    return this
  }

  orderBy(fieldPath: string): Query { this.sort = { fieldPath, desc: false }; return this }
  orderByDesc(fieldPath: string): Query { this.sort = { fieldPath, desc: true }; return this }
  orderByID(): Query { return this.orderBy('_id') }
  orderByIDDesc(): Query { return this.orderByDesc('_id') }
  /** Start at this instance ID (inclusive) in `_id` order. */
  seekID(id: string): Query { this.seek = id; return this }
  limitTo(limit: number): Query { this.limit = limit; return this }
  skipNum(skip: number): Query { this.skip = skip; return this }
  /** Answer through the index on `path`. */
  useIndex(path: string): Query { this.index = path; return this }

  /** The plain JSON form. */
  toJSON(): QueryJSON {
    const out: QueryJSON = { ands: this.ands.map((c) => ({ ...c })), ors: [...this.ors] }
    if (this.sort !== undefined) out.sort = { ...this.sort }
    if (this.seek !== undefined) out.seek = this.seek
    if (this.limit !== undefined) out.limit = this.limit
    if (this.skip !== undefined) out.skip = this.skip
    if (this.index !== undefined) out.index = this.index
    return out
  }
}

/** A condition on one field path, completed by an operation. */
export class Criterion {
  constructor(readonly fieldPath: string, private readonly query: Query = new Query()) {}

  private add(operation: OperationCode, value: string | number | boolean): Query {
    this.query.ands.push({ fieldPath: this.fieldPath, operation, value: wrap(value) })
    return this.query
  }

  eq(value: string | number | boolean): Query { return this.add(Operation.Eq, value) }
  ne(value: string | number | boolean): Query { return this.add(Operation.Ne, value) }
  gt(value: string | number | boolean): Query { return this.add(Operation.Gt, value) }
  lt(value: string | number | boolean): Query { return this.add(Operation.Lt, value) }
  ge(value: string | number | boolean): Query { return this.add(Operation.Ge, value) }
  le(value: string | number | boolean): Query { return this.add(Operation.Le, value) }
}

/** `new Where('name').eq('Alice')`, as in the original client. */
export class Where extends Criterion {
  constructor(fieldPath: string) {
    super(fieldPath, new Query())
  }
}

/** `where('name').eq('Alice')`. */
export function where(fieldPath: string): Criterion {
  return new Criterion(fieldPath, new Query())
}
