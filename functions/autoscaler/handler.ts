// PLACEHOLDER until the autoscaler lands: replaced at merge.
/** Exists only so the CDK app's NodejsFunction has an entry to bundle. */
export async function handler(): Promise<never> {
  throw new Error('autoscaler not built yet');
}
