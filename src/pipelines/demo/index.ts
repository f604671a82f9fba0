import { registerPipeline } from '../registry.js';
import { contentAgents } from './content-agents.js';
import { videoClip } from './video-clip.js';

export { contentAgents, videoClip };
export { startDemoLoad, type DemoLoadOptions } from './start-demo-load.js';

/** Makes the demo pipelines known to this process (workers and createJob). */
export function registerDemoPipelines(): void {
  registerPipeline(videoClip);
  registerPipeline(contentAgents);
}
