import { make07, type Item07 } from "lib07";
import { make14, type Item14 } from "lib14";
import { describe, type Tagged } from "./util.js";

/** One value of library 15; it embeds values of the libraries it depends on. */
export interface Item15 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item07 | Item14)[];
}

export function make15(n: number): Item15 {
  return { id: n * 16, tag: describe(n), parts: [make07(n + 0), make14(n + 1)] };
}

export const NAME15 = "lib15";
