/**
 * Raised by the vetted DNS lookup when every address a host resolves to is refused by the address
 * policy. It travels through net/http as a connection error, and `mapFetchError` turns it into
 * `origin_forbidden`. The message never names the addresses.
 */
export class BlockedAddressError extends Error {
  static readonly CODE = 'ERR_ORIGIN_BLOCKED_ADDRESS';
  readonly code = BlockedAddressError.CODE;

  constructor() {
    super('The origin resolves to a blocked (private/loopback/link-local) address.');
    this.name = 'BlockedAddressError';
  }
}
