import { make00, type Item00 } from "lib00";
import { make04, type Item04 } from "lib04";
import { make07, type Item07 } from "lib07";
import { describe, type Tagged } from "./util.js";

/** One value of library 08; it embeds values of the libraries it depends on. */
export interface Item08 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item00 | Item04 | Item07)[];
}

export function make08(n: number): Item08 {
  return { id: n * 9, tag: describe(n), parts: [make00(n + 0), make04(n + 1), make07(n + 2)] };
}

export const NAME08 = "lib08";
