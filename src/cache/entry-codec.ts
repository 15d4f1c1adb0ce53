/**
 * A byte encoding of cache records, for stores that serialise (Redis, files, databases).
 *
 *   bytes 0-3   "SFC" + format version (1)
 *   bytes 4-7   length of the metadata, uint32 big-endian
 *   metadata    UTF-8 JSON: every field of the record but the body, in a fixed order
 *   rest        the body bytes, as is (no base64: a cached image stays its own size)
 *
 * `decodeRecord()` returns undefined for anything it does not recognise (other versions
 * included), which the cache treats as a miss. The metadata JSON without `sig` is also what
 * entries are signed over (entry-signing.ts), so it is built field by field in a fixed order.
 */
import { isCurrentRecord, type CacheRecord, type ResponseRecord } from './cache-store.js'

const MAGIC = [0x53, 0x46, 0x43] // "SFC"
const FORMAT = 1
const HEADER_BYTES = 8
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** The metadata of a record as canonical JSON, with or without its signature. */
export function encodeMeta(record: CacheRecord, withSig: boolean): string {
  let meta: Record<string, unknown>
  switch (record.kind) {
    case 'response':
      meta = {
        v: record.v,
        kind: record.kind,
        ns: record.ns,
        secondary: record.secondary,
        vary: record.vary,
        url: record.url,
        status: record.status,
        statusText: record.statusText,
        headers: record.headers,
        addresses: record.addresses,
        hasBody: record.body !== null,
        initialAge: record.initialAge,
        responseTime: record.responseTime,
        lifetime: record.lifetime,
        swr: record.swr,
        sie: record.sie,
        noStale: record.noStale,
      }
      if (record.urlGen !== undefined) meta['urlGen'] = record.urlGen
      break
    case 'vary':
      meta = { v: record.v, kind: record.kind, ns: record.ns, gen: record.gen, vary: record.vary, keys: record.keys, expires: record.expires }
      if (record.urlGen !== undefined) meta['urlGen'] = record.urlGen
      break
    case 'ns':
      meta = { v: record.v, kind: record.kind, ns: record.ns }
      break
  }
  if (withSig && record.sig !== undefined) meta['sig'] = record.sig
  return JSON.stringify(meta)
}

export function encodeRecord(record: CacheRecord): Uint8Array {
  const meta = encoder.encode(encodeMeta(record, true))
  const body = record.kind === 'response' ? record.body : null
  const out = new Uint8Array(HEADER_BYTES + meta.byteLength + (body?.byteLength ?? 0))
  out.set(MAGIC, 0)
  out[3] = FORMAT
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(4, meta.byteLength)
  out.set(meta, HEADER_BYTES)
  if (body !== null) out.set(body, HEADER_BYTES + meta.byteLength)
  return out
}

/** The record encoded in `bytes`, or undefined for anything else (another version, garbage). */
export function decodeRecord(bytes: Uint8Array): CacheRecord | undefined {
  if (bytes.byteLength < HEADER_BYTES || bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1] || bytes[2] !== MAGIC[2] || bytes[3] !== FORMAT) {
    return undefined
  }
  const metaLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4)
  if (HEADER_BYTES + metaLength > bytes.byteLength) return undefined
  let meta: unknown
  try {
    meta = JSON.parse(decoder.decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + metaLength)))
  } catch {
    return undefined
  }
  if (!isCurrentRecord(meta)) return undefined
  const m = meta as unknown as Record<string, unknown>
  const sig = typeof m['sig'] === 'string' ? { sig: m['sig'] } : {}
  const urlGen = typeof m['urlGen'] === 'string' ? { urlGen: m['urlGen'] } : {}
  switch (meta.kind) {
    case 'response': {
      if (typeof m['status'] !== 'number' || typeof m['url'] !== 'string' || m['headers'] === null || typeof m['headers'] !== 'object') return undefined
      const record: ResponseRecord = {
        v: 1,
        kind: 'response',
        ns: meta.ns,
        secondary: String(m['secondary']),
        vary: Array.isArray(m['vary']) ? (m['vary'] as string[]) : [],
        url: m['url'],
        status: m['status'],
        statusText: String(m['statusText'] ?? ''),
        headers: m['headers'] as ResponseRecord['headers'],
        // Checked on every read (entry-addresses.ts); a record without a list lists nothing.
        addresses: Array.isArray(m['addresses']) && (m['addresses'] as unknown[]).every((a) => typeof a === 'string') ? (m['addresses'] as string[]) : [],
        body: m['hasBody'] === true ? bytes.subarray(HEADER_BYTES + metaLength) : null,
        initialAge: Number(m['initialAge']),
        responseTime: Number(m['responseTime']),
        lifetime: Number(m['lifetime']),
        swr: Number(m['swr']),
        sie: Number(m['sie']),
        noStale: m['noStale'] === true,
        ...urlGen,
        ...sig,
      }
      return record
    }
    case 'vary':
      if (typeof m['gen'] !== 'string' || !Array.isArray(m['keys']) || !Array.isArray(m['vary'])) return undefined
      return {
        v: 1,
        kind: 'vary',
        ns: meta.ns,
        gen: m['gen'],
        vary: m['vary'] as string[],
        keys: m['keys'] as string[],
        expires: Number(m['expires']),
        ...urlGen,
        ...sig,
      }
    case 'ns':
      return { v: 1, kind: 'ns', ns: meta.ns, ...sig }
  }
}
