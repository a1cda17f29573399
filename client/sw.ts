/// <reference lib="webworker" />
/** The edgeswarm service worker. (Being built.) */
export {};
