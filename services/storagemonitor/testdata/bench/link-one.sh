#!/bin/bash
# The per-file approach of the ai-dock images, reproduced for the
# benchmark only: one bash process per storage path, which reads the
# mappings (mappings.sh, path in $MAPPINGS_SH), works out the folder the
# path is in and links it into every target of a mapping for that folder
# (or removes the links when the path is gone).
#   link-one.sh STORAGE_DIR PATH
storage_dir="$1"
stored_path="$2"
source "$MAPPINGS_SH"

absolute=$(realpath "$stored_path")
folder=$(realpath --relative-to="$storage_dir" "$(dirname "$stored_path")")
for key in "${!storage_map[@]}"; do
    [[ "$folder" == "$key" ]] || continue
    read -ra targets <<< "${storage_map[$key]}"
    for target in "${targets[@]}"; do
        link="$target/$(basename "$stored_path")"
        if [[ -e "$stored_path" ]]; then
            mkdir -p "$target"
            [[ -h "$link" ]] && rm "$link"
            ln -s "$absolute" "$link"
        else
            rm -f "$link"
        fi
    done
done
