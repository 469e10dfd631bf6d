import { serveAgent } from '@reelmesh/agent-kit';
import { createApp } from './app';

serveAgent({ createApp });
