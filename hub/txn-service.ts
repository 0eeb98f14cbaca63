/**
 * ReadTransaction and WriteTransaction as go-threads clients drive them: a bidirectional stream
 * whose first message starts the transaction on a DB and collection; every later message is one
 * operation, answered by one reply whose `transactionError` carries a failed operation's message
 * (the stream goes on); the write transaction commits when the client ends its stream (one event)
 * and is discarded when the call is cancelled, fails or goes idle.
 *
 * A transaction holds its DB's lock (a write transaction excludes every other writer), so a
 * client cannot keep it: a watchdog discards the transaction — releasing the lock — once the
 * client has neither sent a message nor taken a reply for the idle timeout, wherever the stream
 * is blocked.
 */
import { Code, ConnectError, type HandlerContext } from '@connectrpc/connect'
import type { MessageInitShape } from '@bufbuild/protobuf'
import type { Database, ReadTransaction, WriteTransaction } from '../src/db/index.js'
import type {
  FindByIDRequest, FindRequest, HasRequest, ReadTransactionReplySchema, ReadTransactionRequest, StartTransactionRequest,
  WriteTransactionReplySchema, WriteTransactionRequest
} from './gen/threads_pb.js'
import { callerOf, dbOf, readAs, writeAs, type ApiContext } from './api.js'
import { instanceOf, queryOf, toJSONBytes } from './codec.js'
import { IdleTimeoutError } from './errors.js'
import { transactionError } from './status.js'
import { nextRequest } from './streams.js'

type ReadReply = MessageInitShape<typeof ReadTransactionReplySchema>
type WriteReply = MessageInitShape<typeof WriteTransactionReplySchema>

/** Calls `expire` once nothing has touched it for `ms`. */
function watchdog(ms: number, expire: () => void): { touch(): void; stop(): void; readonly expired: boolean } {
  let expired = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => { expired = true; expire() }, ms)
  }
  arm()
  return {
    touch() { if (!expired) arm() },
    stop() { clearTimeout(timer) },
    get expired() { return expired }
  }
}

/** Start: the first message must be a start request naming an existing DB and collection. */
async function begin(api: ApiContext, ctx: HandlerContext, it: AsyncIterator<ReadTransactionRequest | WriteTransactionRequest>, kind: string): Promise<{ db: Database; start: StartTransactionRequest; identity: string | undefined }> {
  const identity = await callerOf(api, ctx)
  const first = await nextRequest(it, ctx, api.idleTimeoutMs, kind)
  if (first === undefined) throw new ConnectError(`no ${kind}Request type set`, Code.InvalidArgument)
  if (first.option.case !== 'startTransactionRequest') {
    throw new ConnectError(`${kind}Request.Option has unexpected type ${first.option.case ?? 'nil'}: start the transaction first`, Code.InvalidArgument)
  }
  const start = first.option.value
  const db = dbOf(api, start.dbID)
  await db.getCollectionInfo(start.collectionName)
  return { db, start, identity }
}

/** The reads both transactions answer, each as the reply payload or its error. */
async function read(txn: ReadTransaction | WriteTransaction, op: { case: 'hasRequest'; value: HasRequest } | { case: 'findRequest'; value: FindRequest } | { case: 'findByIDRequest'; value: FindByIDRequest }) {
  try {
    switch (op.case) {
      case 'hasRequest': return { case: 'hasReply' as const, value: { exists: await txn.has(op.value.instanceIDs) } }
      case 'findRequest': return { case: 'findReply' as const, value: { instances: (await txn.find(queryOf(op.value.queryJSON))).map(toJSONBytes) } }
      case 'findByIDRequest': return { case: 'findByIDReply' as const, value: { instance: toJSONBytes(await txn.findByID(op.value.instanceID)) } }
    }
  } catch (err) {
    const transaction = { transactionError: transactionError(err) }
    return { case: op.case === 'hasRequest' ? 'hasReply' as const : op.case === 'findRequest' ? 'findReply' as const : 'findByIDReply' as const, value: transaction }
  }
}

function unexpected(kind: string, c: string | undefined): ConnectError {
  return new ConnectError(`${kind}Request.Option has unexpected type ${c ?? 'nil'}`, Code.InvalidArgument)
}

export async function * readTransactionStream(api: ApiContext, requests: AsyncIterable<ReadTransactionRequest>, ctx: HandlerContext): AsyncGenerator<ReadReply> {
  const it = requests[Symbol.asyncIterator]()
  const { db, start, identity } = await begin(api, ctx, it, 'ReadTransaction')
  const txn = db.readTransaction(start.collectionName, readAs(api, identity))
  await txn.start()
  const dog = watchdog(api.idleTimeoutMs, () => { void txn.discard().catch(() => undefined) })
  try {
    for (;;) {
      const req = await nextRequest(it, ctx, api.idleTimeoutMs, 'ReadTransaction')
      dog.touch()
      if (req === undefined) return
      const op = req.option
      if (op.case !== 'hasRequest' && op.case !== 'findRequest' && op.case !== 'findByIDRequest') throw unexpected('ReadTransaction', op.case)
      if (dog.expired) throw new IdleTimeoutError('the read transaction was idle for too long')
      yield { option: await read(txn, op) }
      dog.touch()
    }
  } finally {
    dog.stop()
    await txn.end()
  }
}

/** One write-transaction operation: its reply, with `transactionError` when it failed. */
async function write(txn: WriteTransaction, op: WriteTransactionRequest['option']): Promise<NonNullable<WriteReply['option']>> {
  const fail = (err: unknown) => ({ transactionError: transactionError(err) })
  switch (op.case) {
    case 'createRequest':
      try {
        return { case: 'createReply', value: { instanceIDs: await txn.create(op.value.instances.map(instanceOf)) } }
      } catch (err) { return { case: 'createReply', value: fail(err) } }
    case 'saveRequest':
      try {
        await txn.save(op.value.instances.map(instanceOf))
        return { case: 'saveReply', value: {} }
      } catch (err) { return { case: 'saveReply', value: fail(err) } }
    case 'verifyRequest':
      try {
        await txn.verify(op.value.instances.map(instanceOf))
        return { case: 'verifyReply', value: {} }
      } catch (err) { return { case: 'verifyReply', value: fail(err) } }
    case 'deleteRequest':
      try {
        await txn.delete(op.value.instanceIDs)
        return { case: 'deleteReply', value: {} }
      } catch (err) { return { case: 'deleteReply', value: fail(err) } }
    case 'discardRequest':
      await txn.discard()
      return { case: 'discardReply', value: {} }
    case 'hasRequest':
    case 'findRequest':
    case 'findByIDRequest':
      return await read(txn, op)
    default:
      throw unexpected('WriteTransaction', op.case)
  }
}

export async function * writeTransactionStream(api: ApiContext, requests: AsyncIterable<WriteTransactionRequest>, ctx: HandlerContext): AsyncGenerator<WriteReply> {
  const it = requests[Symbol.asyncIterator]()
  const { db, start, identity } = await begin(api, ctx, it, 'WriteTransaction')
  const txn = db.writeTransaction(start.collectionName, await writeAs(api, db, identity))
  await txn.start()
  const dog = watchdog(api.idleTimeoutMs, () => { void txn.discard().catch(() => undefined) })
  let committed = false
  try {
    for (;;) {
      const req = await nextRequest(it, ctx, api.idleTimeoutMs, 'WriteTransaction')
      dog.touch()
      if (req === undefined) break
      if (dog.expired) throw new IdleTimeoutError('the write transaction was idle for too long and was discarded')
      yield { option: await write(txn, req.option) }
      dog.touch()
    }
    if (dog.expired) throw new IdleTimeoutError('the write transaction was idle for too long and was discarded')
    // The client ended its stream: commit (a discarded transaction commits nothing).
    await txn.end()
    committed = true
  } finally {
    dog.stop()
    if (!committed) await txn.discard()
  }
}
