/** Cells the storage kinds share, as kubectl prints them. */

/** `RWO,ROX`: access modes abbreviated as kubectl's `GetAccessModesAsString` does. */
export function accessModesText(modes: readonly string[] | undefined): string {
  const short: Record<string, string> = {
    ReadWriteOnce: "RWO",
    ReadOnlyMany: "ROX",
    ReadWriteMany: "RWX",
    ReadWriteOncePod: "RWOP",
  };
  return [...new Set(modes ?? [])].map((m) => short[m] ?? m).join(",");
}

/** The VOLUMEATTRIBUTESCLASS cell: `<unset>` when none is named. */
export const attributesClassText = (name: string | undefined): string => name || "<unset>";
