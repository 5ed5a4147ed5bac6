/**
 * Server ids double as hostnames (the seed's balancers' /add took
 * hostnames): DNS-label characters, at most 63, starting with a letter or
 * digit. The proxy's admin API and the server's own configuration both check
 * them against this one rule.
 */
export const SERVER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The rule in words, for error messages. */
export const SERVER_ID_RULE = 'expected 1-63 letters, digits, "-", "_" or ".", starting with a letter or digit';
