#!/usr/bin/env bash
# Assembles out/MeshFederation/<version>/ (module, engine, views, the MAML help generated from docs/ at build and the
# about topic under en-US/; the YAML bridge and YamlDotNet under Dependencies/) and packs, without pwsh, the PowerShell
# Gallery nupkg and the meshfed dotnet tool into out/packages; publishes meshfed as a native executable (Native AOT,
# linux-x64) into out/cli/meshfed (needs clang and zlib1g-dev; test.sh installs them; MESHFED_SKIP_NATIVE=1 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)
config="${CONFIGURATION:-Release}"
module="out/MeshFederation/$version"
rm -rf out/MeshFederation out/packages out/publish out/cli
mkdir -p "$module/Dependencies" "$module/en-US" out/packages
dotnet publish src/MeshFederation/MeshFederation.csproj -c "$config" -o out/publish --nologo -v quiet
cp out/publish/MeshFederation.dll out/publish/MeshFederation.Engine.dll out/publish/MeshFederation.psd1 out/publish/MeshFederation.*.ps1xml "$module/"
cp out/publish/Dependencies/*.dll "$module/Dependencies/"
cp out/publish/en-US/* "$module/en-US/"
test -s "$module/en-US/MeshFederation.dll-Help.xml" || { echo "package.sh: the MAML help was not generated" >&2; exit 1; }
rm -rf out/publish
dotnet pack packaging/MeshFederation.Module.csproj -c "$config" -o out/packages --nologo -v quiet -p:NuspecBasePath="$(pwd)/$module"
dotnet pack src/MeshFederation.Cli/MeshFederation.Cli.csproj -c "$config" -o out/packages --nologo -v quiet
if [ "${MESHFED_SKIP_NATIVE:-}" != "1" ]; then
  [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || { echo "package.sh: the native meshfed is built for linux-x64 only (MESHFED_SKIP_NATIVE=1 skips it)" >&2; exit 1; }
  command -v clang >/dev/null 2>&1 || { echo "package.sh: the native meshfed needs clang and zlib1g-dev (apt-get install clang zlib1g-dev; test.sh installs them)" >&2; exit 1; }
  dotnet publish src/MeshFederation.Cli/MeshFederation.Cli.csproj -c "$config" -r linux-x64 -p:MeshfedNative=true -o out/cli --nologo -v quiet
  rm -f out/cli/*.dbg out/cli/*.pdb out/cli/*.xml
  test -x out/cli/meshfed || { echo "package.sh: the native meshfed was not built" >&2; exit 1; }
  echo "out/cli/meshfed (native, linux-x64)"
fi
ls -1 out/packages
