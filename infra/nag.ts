import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges an AwsSolutions (cdk-nag) finding on `scope` and everything
 * under it, with the reason it is accepted. cdk-nag 3 reads these through
 * the CDK's own acknowledgement metadata.
 */
export function acknowledgeNag(scope: IConstruct, rule: string, reason: string): void {
  if (!/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/.test(rule)) {
    throw new Error(`acknowledgeNag: expected a rule such as AwsSolutions-IAM5[Resource::*], got "${rule}"`);
  }
  if (reason.trim().length < 20) throw new Error(`acknowledgeNag ${rule}: the reason must say why (20+ characters)`);
  Validations.of(scope).acknowledge({ id: `AwsSolutions::${rule}`, reason });
}
