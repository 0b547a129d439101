import { make02, type Item02 } from "lib02";
import { make03, type Item03 } from "lib03";
import { describe, type Tagged } from "./util.js";

/** One value of library 04; it embeds values of the libraries it depends on. */
export interface Item04 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item02 | Item03)[];
}

export function make04(n: number): Item04 {
  return { id: n * 5, tag: describe(n), parts: [make02(n + 0), make03(n + 1)] };
}

export const NAME04 = "lib04";
