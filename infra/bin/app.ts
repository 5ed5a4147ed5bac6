import { App } from 'aws-cdk-lib';
import { readAppSettings } from '../config.js';
import { createStacks } from '../ringmaster-app.js';

const app = new App();
const settings = readAppSettings(app.node);
createStacks(app, settings);
