import { render } from 'preact';
import { App } from './app.js';
import { streamUrls } from './api.js';
import { Store } from './store.js';

performance.mark('runledger:start');
const store = new Store();
const urls = streamUrls();
store.start(urls.ws, urls.sse);
// For tests and benches driving the page from outside (read-only use).
(globalThis as { runledgerDashboard?: Store }).runledgerDashboard = store;
render(<App store={store} />, document.getElementById('app')!);
