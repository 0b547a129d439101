import { make07, type Item07 } from "lib07";
import { make08, type Item08 } from "lib08";
import { make15, type Item15 } from "lib15";
import { describe, type Tagged } from "./util.js";

/** One value of library 16; it embeds values of the libraries it depends on. */
export interface Item16 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item07 | Item08 | Item15)[];
}

export function make16(n: number): Item16 {
  return { id: n * 17, tag: describe(n), parts: [make07(n + 0), make08(n + 1), make15(n + 2)] };
}

export const NAME16 = "lib16";
