/** The edgeswarm browser SDK. (Being built.) */
export const VERSION = "0.1.0";
