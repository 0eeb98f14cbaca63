/** base64url without padding (RFC 4648 §5), for tokens and invites: the core's strict codec. */
export { toBase64url, fromBase64url } from '../core/base64url.js'
