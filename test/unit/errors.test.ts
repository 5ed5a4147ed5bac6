import { describe, expect, it } from 'vitest';
import { isTimeout, toClientError, wasNeverSent } from '#proxy/forwarding/errors.js';

const err = (code: string) => Object.assign(new Error(code), { code });

describe('upstream error mapping', () => {
  it('maps timeouts to 504 and other failures to 502, naming the server', () => {
    expect(toClientError('s1', err('UND_ERR_HEADERS_TIMEOUT'))).toMatchObject({
      status: 504,
      code: 'UPSTREAM_TIMEOUT',
    });
    expect(toClientError('s1', err('UND_ERR_CONNECT_TIMEOUT'))).toMatchObject({ status: 504 });
    const failed = toClientError('s2', err('ECONNRESET'));
    expect(failed).toMatchObject({ status: 502, code: 'UPSTREAM_FAILED', message: 'server s2 failed: ECONNRESET' });
    expect(failed.cause).toBeInstanceOf(Error);
  });

  it('treats only failures before sending as safe to repeat for any method', () => {
    for (const code of ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED'])
      expect(wasNeverSent(err(code))).toBe(true);
    for (const code of ['ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT'])
      expect(wasNeverSent(err(code))).toBe(false);
    expect(wasNeverSent(new Error('no code'))).toBe(false);
    expect(isTimeout(err('UND_ERR_BODY_TIMEOUT'))).toBe(true);
  });
});
