/**
 * The server bundle as the local runs start it: dist/server.js, unchanged,
 * with the AWS SDK's Node 22 notice quieted first. The proxy's local scaler
 * hands its servers a fixed, minimal environment (it does not pass the SDK's
 * switch through), so the switch is set here, in the server's own process,
 * before the bundle constructs its DynamoDB client. Once the scaler passes
 * SDK_NODE_NOTICE_SWITCH on, LOCAL_SERVER_ENTRY can point at dist/server.js
 * again and this file can go.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { quietSdkNodeNotice } from './lib/emulator.js';

quietSdkNodeNotice();
// A computed specifier: esbuild leaves it alone, so the real bundle runs, not a second copy of it.
await import(pathToFileURL(join(import.meta.dirname, '..', 'server.js')).href);
