import pino, { type Logger } from 'pino';

/** JSON lines on stdout; errors serialised with their cause chain. */
export function createLogger(level: string, name: string): Logger {
  return pino({ name, level, base: { pid: process.pid }, serializers: { err: pino.stdSerializers.errWithCause } });
}
