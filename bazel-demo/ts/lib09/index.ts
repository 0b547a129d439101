import { make04, type Item04 } from "lib04";
import { make07, type Item07 } from "lib07";
import { make08, type Item08 } from "lib08";
import { describe, type Tagged } from "./util.js";

/** One value of library 09; it embeds values of the libraries it depends on. */
export interface Item09 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item04 | Item07 | Item08)[];
}

export function make09(n: number): Item09 {
  return { id: n * 10, tag: describe(n), parts: [make04(n + 0), make07(n + 1), make08(n + 2)] };
}

export const NAME09 = "lib09";
