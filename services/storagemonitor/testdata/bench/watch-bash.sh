#!/bin/bash
# The live path of the ai-dock images, reproduced for the benchmark only:
# inotifywait reports each change in the storage tree and one bash process
# per event runs link-one.sh.
#   watch-bash.sh STORAGE_DIR
storage_dir="$1"
here=$(dirname "$0")
inotifywait -m -r -e create -e delete -e move --format '%w%f' "$storage_dir" |
while read -r changed; do
    bash "$here/link-one.sh" "$storage_dir" "$changed"
done
