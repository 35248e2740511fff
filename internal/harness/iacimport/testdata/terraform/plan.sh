#!/bin/sh
# Makes plans/<variant>.json with a real `terraform plan` + `terraform show -json` for every
# variant of main.tf. It needs terraform and the hashicorp/aws provider 5.100.0 in a filesystem
# mirror (TF_PLUGIN_MIRROR, default /opt/tf-plugins): it writes its own CLI configuration and
# points TF_CLI_CONFIG_FILE at it, so nothing is downloaded. The provider's account lookup is
# answered by the kit's emulator (mcpsso aws serve), started here on a free loopback port.
# Run from this directory: ./plan.sh (the tests read the committed plans and never run this).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
work=$(mktemp -d)
trap 'kill "$emu" 2>/dev/null || true; rm -rf "$work"' EXIT

cat >"$work/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "${TF_PLUGIN_MIRROR:-/opt/tf-plugins}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

(cd "$repo" && go build -o "$work/mcpsso" ./harness/cmd/mcpsso)
"$work/mcpsso" aws serve --addr 127.0.0.1:0 >"$work/emu.out" 2>"$work/emu.log" &
emu=$!
for _ in $(seq 100); do grep -q '^ready ' "$work/emu.out" && break; sleep 0.1; done
endpoint=$(sed -n 's/^ready //p' "$work/emu.out")
[ -n "$endpoint" ] || { echo "plan.sh: the emulator did not start" >&2; cat "$work/emu.log" >&2; exit 1; }

cp -r "$here/main.tf" "$here/modules" "$work/"
cd "$work"
terraform init -input=false -backend=false >/dev/null
mkdir -p "$here/plans"
for v in tutorial corrected trust-single-statement trust-no-tenant-pin task-no-set-source-identity bucket-any-account; do
  terraform plan -input=false -refresh=false -lock=false -out="$v.tfplan" -var "variant=$v" -var "endpoint=$endpoint" >/dev/null
  terraform show -json "$v.tfplan" >"$here/plans/$v.json"
  echo "plans/$v.json"
done
