#!/usr/bin/env bash
# Assembles out/MeshFederation/<version>/ (module, engine, views, the MAML help generated from docs/ at build and the
# about topic under en-US/; the YAML bridge and YamlDotNet under Dependencies/) and packs, without pwsh, the PowerShell
# Gallery nupkg and the meshfed dotnet tool into out/packages.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)
config="${CONFIGURATION:-Release}"
module="out/MeshFederation/$version"
rm -rf out/MeshFederation out/packages out/publish
mkdir -p "$module/Dependencies" "$module/en-US" out/packages
dotnet publish src/MeshFederation/MeshFederation.csproj -c "$config" -o out/publish --nologo -v quiet
cp out/publish/MeshFederation.dll out/publish/MeshFederation.Engine.dll out/publish/MeshFederation.psd1 out/publish/MeshFederation.*.ps1xml "$module/"
cp out/publish/Dependencies/*.dll "$module/Dependencies/"
cp out/publish/en-US/* "$module/en-US/"
test -s "$module/en-US/MeshFederation.dll-Help.xml" || { echo "package.sh: the MAML help was not generated" >&2; exit 1; }
rm -rf out/publish
dotnet pack packaging/MeshFederation.Module.csproj -c "$config" -o out/packages --nologo -v quiet -p:NuspecBasePath="$(pwd)/$module"
dotnet pack src/MeshFederation.Cli/MeshFederation.Cli.csproj -c "$config" -o out/packages --nologo -v quiet
ls -1 out/packages
