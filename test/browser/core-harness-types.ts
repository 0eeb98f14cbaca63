/** What the core harness page exposes to Playwright (`globalThis.weftCoreHarness`). */

/**
 * The parts of test/vectors/format-v1.json or format-v2.json the page needs (bytes as lower-case
 * hex). `certificateNonce` is in the version 2 file only: its `author` records carry the author
 * key's certificate for the log key, made with that nonce.
 */
export interface CoreVectorInput {
  serviceKey: string
  readKey: string
  logKeySeed: string
  authorKeySeed: string
  certificateNonce?: string
  records: Array<{
    body: unknown
    time: { wall: number; counter: number }
    author: 'log' | 'author'
    prev: number | null
    bodyKey: string
    bodyNonce: string
    headerNonce: string
    recordNonce: string
  }>
}

export interface HexBlock { cid: string; bytes: string }

/** The vector records as blocks (what `outputs.records[i]` holds, minus the plaintexts). */
export type VectorRecordBlocks = Record<'record' | 'event' | 'header' | 'body', HexBlock>

/** A vector record opened in the page (read key given), or the name of the error it was refused with. */
export type OpenedVector =
  | { body: unknown; time: { wall: number; counter: number }; author: string; version: number }
  | { error: string }

export interface CoreReport {
  /** What `#weft/crypto` resolved to in the page (`CRYPTO_PLATFORM`). */
  platform: string
  /** The Ed25519 backend used (`ed25519Backend()`). */
  backend: string
  logPublicKey: string
  authorPublicKey: string
  /** The vector records sealed in the page from their inputs, in the vectors' format version. */
  sealed: VectorRecordBlocks[]
  /** The vector blocks opened in the page as one log, each after the one before. */
  opened: OpenedVector[]
}

export interface WeftCoreHarness {
  /**
   * Seal and open the vectors of format `version`; `noble` forces the `@noble/ed25519` fallback
   * instead of the platform's Ed25519.
   */
  run(version: 1 | 2, input: CoreVectorInput, blocks: VectorRecordBlocks[], logID: string, noble: boolean): Promise<CoreReport>
}

declare global {
  var weftCoreHarness: WeftCoreHarness | undefined
}
