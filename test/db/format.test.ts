/**
 * The DB's format version 2 against its committed vectors (test/db/db-format-v2.json): a change
 * of the thread ID commitment, of the body encoding, of event keys or of where records sit in the
 * order shows up here, and must come with a new version.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fromHex } from '../../src/core/bytes.js'
import { privateKeyFromSeed, publicKeyToBytes } from '../../src/core/identity.js'
import { commitsTo, threadCommitment } from '../../src/db/governance.js'
import type { ThreadID } from '../../src/core/types.js'
import { computeDBVectors, DB_INPUTS, type DBVectorInputs } from './vectors.js'

const file = JSON.parse(readFileSync(new URL('./db-format-v2.json', import.meta.url), 'utf8')) as { version: number; inputs: DBVectorInputs; outputs: Record<string, unknown> }

describe('DB format version 2 vectors', () => {
  it('recomputes every output from the stored inputs', async () => {
    expect(file.version).toBe(2)
    expect(file.inputs).toEqual(DB_INPUTS)
    expect(await computeDBVectors(file.inputs)).toEqual(file.outputs)
  })

  it('the thread ID of a new DB commits to its creator and to nobody else', async () => {
    const id = file.outputs.threadID as ThreadID
    const commitment = threadCommitment(id)
    expect(commitment).toBeDefined()
    expect(commitsTo(commitment, file.outputs.ownerIdentity as string, file.inputs.salt)).toBe(true)
    expect(commitsTo(commitment, file.outputs.otherIdentity as string, file.inputs.salt)).toBe(false)
    expect(commitsTo(commitment, file.outputs.ownerIdentity as string, 'ff'.repeat(16))).toBe(false)
    const owner = await privateKeyFromSeed(fromHex(file.inputs.ownerSeed))
    expect(file.outputs.ownerPublicKey).toBe(Buffer.from(publicKeyToBytes(owner.publicKey)).toString('hex'))
  })
})
