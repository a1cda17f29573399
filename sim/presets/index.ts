/** All presets, in the order `npm run simulate` runs them. */
import type { Preset } from "../preset";
import { capacity } from "./capacity";

export const PRESETS: Preset[] = [capacity];
