/** The benches' and tests' seeded generator lives in core (the autoscaler's simulator uses it too). */
export { seededRandom } from '#core/util/seeded-random.js';
