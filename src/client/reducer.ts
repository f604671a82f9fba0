// The projections' reducer: dependency-free, so the client runs it in the browser too.
export { applyDeltas, emptyModel, type Model } from '../projections/reducer.js';
