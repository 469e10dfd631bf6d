import { serveAgent } from '@reelmesh/agent-kit';
import { createApp } from './app';

await serveAgent({ createApp, defaults: { agent: 'color' } });
