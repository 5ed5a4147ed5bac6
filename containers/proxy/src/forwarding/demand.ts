import { type Demand, NO_DEMAND } from '#core/balancing/backend.js';

const MAX_DEMAND = 1;

/**
 * Parses a declared demand `cpu:storage` (fractions of one server, e.g.
 * `0.2:0.05`). A malformed or missing header counts as no demand rather than
 * failing the request: the declaration is a hint for placement.
 */
export function parseDemand(header: string | undefined): Demand {
  if (header === undefined) return NO_DEMAND;
  const colon = header.indexOf(':');
  if (colon < 0) return NO_DEMAND;
  const cpu = Number(header.slice(0, colon));
  const storage = Number(header.slice(colon + 1));
  if (!(cpu >= 0 && cpu <= MAX_DEMAND && storage >= 0 && storage <= MAX_DEMAND)) return NO_DEMAND;
  return { cpu, storage };
}
