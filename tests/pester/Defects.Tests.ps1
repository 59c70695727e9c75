#Requires -Version 7.4
# Issue 10's defects 1-17 as a real PowerShell user meets them, each proven here (each test failed before its fix).
# Live ones run against fake API servers served by tests/MeshFederation.TestKube.Host and are judged by kubectl.
# Defect 11 (declared output types over every example) is in Examples.Tests.ps1.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    Import-MeshFederationUnderTest
    Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
    $kube = Start-TestKube -Cluster blue, green -Operator ossm2, federation -Namespace nfs-app-istio -Unreachable gone -Unauthorized stranger
    $kubeconfig = $kube.Kubeconfig
    function kc([string] $Context) { kubectl --kubeconfig $kubeconfig --context $Context @args 2>&1 }
    $seed001 = Join-Path $ExamplesDir 'seed-001-blue-green.yaml'
    $configuration = if ($env:CONFIGURATION) { $env:CONFIGURATION } else { 'Release' }
    $meshfed = Join-Path $RepoRoot "src/MeshFederation.Cli/bin/$configuration/net8.0/meshfed.dll"
    $cpType = [MeshFederation.Engine.Model.MeshControlPlane]
    # The README quick start's objects.
    $blue = New-MeshControlPlane -Name blue-mesh -Namespace blue-mesh-system -Cluster blue -MemberNamespace nfs-app-istio
    $green = New-MeshControlPlane -Name green-mesh -Namespace green-mesh-system -Cluster green -MemberNamespace nfs-app-istio
    $peers = $blue, $green | New-MeshPeer
    $export = $peers | Where-Object LocalMesh -eq 'blue-mesh' | Export-MeshService -Namespace nfs-app-istio -Name dokuwiki
    $import = $peers | Where-Object LocalMesh -eq 'green-mesh' | Import-MeshService -Namespace nfs-app-istio -Name dokuwiki -AliasNamespace nfs-app-istio -AliasName blue-dokuwiki
    $route = $import | New-MeshTrafficSplit -Name dokuwiki -LocalHost dokuwiki -RemoteWeight 100
    $quickStart = @{ blue = $blue; green = $green; peers = $peers; export = $export; import = $import; route = $route }
    function Get-Hash([string] $Path) { (Get-FileHash -LiteralPath $Path).Hash }
}

AfterAll { Stop-TestKube $kube }

Describe 'Defect 1: key material is never silently replaced' {
    BeforeAll {
        $dir = Join-Path $TestDrive 'ca'
        $null = New-MeshCertificateAuthority -Cluster west -KeyAlgorithm EcdsaP256 -OutputPath $dir
        $rootKey = Get-Hash (Join-Path $dir 'root-key.pem')
    }

    It 'refuses a second authority into the same folder, keeps the root, and says how to issue under it' {
        $err = $null
        $ca = New-MeshCertificateAuthority -Cluster west -KeyAlgorithm EcdsaP256 -OutputPath $dir -ErrorVariable err -ErrorAction SilentlyContinue
        $ca | Should -BeNullOrEmpty
        Get-Hash (Join-Path $dir 'root-key.pem') | Should -Be $rootKey
        $err.Count | Should -BeGreaterThan 0
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MeshFederation.Conflict*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $err[0].ErrorDetails.RecommendedAction | Should -Match 'RootCertificatePath'
        $err[0].ErrorDetails.RecommendedAction | Should -Match '-Force'
        openssl verify -CAfile (Join-Path $dir 'root-cert.pem') (Join-Path $dir 'west/ca-cert.pem') | Should -Match ': OK$'
    }

    It 'issues for another cluster under the existing root into the same folder' {
        $ca = New-MeshCertificateAuthority -RootCertificatePath (Join-Path $dir 'root-cert.pem') -RootKeyPath (Join-Path $dir 'root-key.pem') -Cluster east -OutputPath $dir
        $ca.Clusters.Cluster | Should -Be 'east'
        Get-Hash (Join-Path $dir 'root-key.pem') | Should -Be $rootKey
        foreach ($c in 'west', 'east') { openssl verify -CAfile (Join-Path $dir 'root-cert.pem') (Join-Path $dir "$c/ca-cert.pem") | Should -Match ': OK$' }
    }

    It 'replaces only with -Force, after a high-impact confirmation' {
        $r = Invoke-InHost -Script "New-MeshCertificateAuthority -Cluster west -KeyAlgorithm EcdsaP256 -OutputPath '$dir' -Force" -DefaultAnswer 'No'
        $r.Prompts.Count | Should -BeGreaterThan 0
        ($r.Prompts.Message -join ' ') | Should -Match 'root-key\.pem'
        Get-Hash (Join-Path $dir 'root-key.pem') | Should -Be $rootKey
        $null = New-MeshCertificateAuthority -Cluster west -KeyAlgorithm EcdsaP256 -OutputPath $dir -Force -Confirm:$false
        Get-Hash (Join-Path $dir 'root-key.pem') | Should -Not -Be $rootKey
        openssl verify -CAfile (Join-Path $dir 'root-cert.pem') (Join-Path $dir 'west/ca-cert.pem') | Should -Match ': OK$'
    }

    It 'meshfed ca --out refuses with exit code 2 and replaces only with --force' {
        $out = Join-Path $TestDrive 'cli-ca'
        dotnet $meshfed ca --out $out --cluster west --algorithm ecdsa-p256 | Out-Null
        $LASTEXITCODE | Should -Be 0
        $key = Get-Hash (Join-Path $out 'root-key.pem')
        $text = dotnet $meshfed ca --out $out --cluster west --algorithm ecdsa-p256 2>&1 | Out-String
        $LASTEXITCODE | Should -Be 2
        $text | Should -Match '--force'
        $text | Should -Match '--root-cert'
        Get-Hash (Join-Path $out 'root-key.pem') | Should -Be $key
        dotnet $meshfed ca --out $out --cluster west --algorithm ecdsa-p256 --force | Out-Null
        $LASTEXITCODE | Should -Be 0
        Get-Hash (Join-Path $out 'root-key.pem') | Should -Not -Be $key
    }
}

Describe 'Defect 2: Sync-MeshFederation prunes only when asked, and asks before each delete' {
    BeforeAll {
        $null = Import-MeshTopology -Path $seed001 | Sync-MeshFederation -KubeConfig $kubeconfig -Confirm:$false
        $cps = @(Import-MeshTopology -Path $seed001 | Where-Object { $_ -is $cpType })
    }

    It 'applied seed 001 (kubectl sees the export)' {
        kc blue -n blue-mesh-system get exportedservicesets -o name | Should -Be 'exportedserviceset.federation.maistra.io/green-mesh'
    }

    It 'plans no delete for a partial pipeline' {
        $r = Invoke-InHost -Script "`$cps | New-MeshPeer | Sync-MeshFederation -KubeConfig '$kubeconfig' -WhatIf" -Variables @{ cps = $cps }
        $r.Errors | Should -BeNullOrEmpty
        $r.Text | Should -Not -Match 'Delete'
        kc blue -n blue-mesh-system get exportedservicesets -o name | Should -Be 'exportedserviceset.federation.maistra.io/green-mesh'
    }

    It 'plans the deletes with -Prune and asks, at high impact, before deleting' {
        $r = Invoke-InHost -Script "`$cps | New-MeshPeer | Sync-MeshFederation -KubeConfig '$kubeconfig' -Prune -WhatIf" -Variables @{ cps = $cps }
        $r.Text | Should -Match 'What if: .*"Delete.*ExportedServiceSet blue-mesh-system/green-mesh'
        $r = Invoke-InHost -Script "`$cps | New-MeshPeer | Sync-MeshFederation -KubeConfig '$kubeconfig' -Prune" -Variables @{ cps = $cps } -DefaultAnswer 'No'
        $r.Prompts.Count | Should -BeGreaterThan 0
        ($r.Prompts.Message -join ' ') | Should -Match 'ExportedServiceSet'
        kc blue -n blue-mesh-system get exportedservicesets -o name | Should -Be 'exportedserviceset.federation.maistra.io/green-mesh'
    }

    It 'deletes without asking with -Prune -Force, and the topology puts it back' {
        $cps | New-MeshPeer | Sync-MeshFederation -KubeConfig $kubeconfig -Prune -Force
        kc blue -n blue-mesh-system get exportedservicesets -o name | Should -BeNullOrEmpty
        $null = Import-MeshTopology -Path $seed001 | Sync-MeshFederation -KubeConfig $kubeconfig -Confirm:$false
        kc blue -n blue-mesh-system get exportedservicesets -o name | Should -Be 'exportedserviceset.federation.maistra.io/green-mesh'
    }

    It 'meshfed apply prunes only with --prune' {
        $help = dotnet $meshfed apply --help | Out-String
        $help | Should -Match '--prune'
        $help | Should -Match '--force-conflicts'
        $help | Should -Not -Match '--no-prune'
    }
}

Describe 'Defect 3: -Force means no confirmation; taking other managers'' fields is -ForceConflicts' {
    BeforeAll {
        $foreign = "apiVersion: maistra.io/v1`nkind: ServiceMeshMemberRoll`nmetadata:`n  name: default`n  namespace: green-mesh-system`nspec:`n  members:`n  - other-app`n"
        function Set-ForeignMembers {
            $foreign | kubectl --kubeconfig $kubeconfig --context green apply --server-side --force-conflicts --field-manager someone-else -f - 2>&1 | Out-Null
            $LASTEXITCODE | Should -Be 0
        }
        function Get-Members { kc green -n green-mesh-system get smmr default -o 'jsonpath={.spec.members}' }
    }

    It 'leaves a field another manager owns alone with -Force, and reports the conflict' {
        Set-ForeignMembers
        $err = $null
        Import-MeshTopology -Path $seed001 | Sync-MeshFederation -KubeConfig $kubeconfig -Force -ErrorVariable err -ErrorAction SilentlyContinue
        Get-Members | Should -Match 'other-app'
        ($err | Out-String) | Should -Match '(?i)conflict'
        ($err | Out-String) | Should -Match 'ForceConflicts'
    }

    It 'takes it with -ForceConflicts' {
        Import-MeshTopology -Path $seed001 | Sync-MeshFederation -KubeConfig $kubeconfig -ForceConflicts -Confirm:$false
        Get-Members | Should -Not -Match 'other-app'
        Get-Members | Should -Match 'nfs-app-istio'
    }
}

Describe 'Defect 4: completers work in a session and for every name-like parameter' {
    It 'completes <Line>' -ForEach @(
        @{ Line = 'Export-MeshService -ControlPlane $blue -Namespace x -Peer gr'; Expect = 'green-mesh' }
        @{ Line = 'Import-MeshService -ControlPlane $green -Namespace x -Peer bl'; Expect = 'blue-mesh' }
        @{ Line = 'ConvertTo-MeshManifest -InputObject $blue -Cluster bl'; Expect = 'blue' }
        @{ Line = 'New-MeshCertificateAuthority -Cluster gr'; Expect = 'green' }
        @{ Line = 'Get-MeshControlPlane bl'; Expect = 'blue-mesh' }
        @{ Line = 'Export-MeshService -ControlPlane $blue -Peer green-mesh -Namespace nfs'; Expect = 'nfs-app-istio' }
        @{ Line = 'Get-MeshControlPlane -KubeConfig KUBECONFIG -Context gr'; Expect = 'green' }
        @{ Line = 'Test-MeshFederation -KubeConfig KUBECONFIG -Context st'; Expect = 'stranger' }
        @{ Line = 'New-MeshControlPlane -Name x -KubeConfig KUBECONFIG -Context go'; Expect = 'gone' }
        @{ Line = 'New-MeshControlPlane -Name x -Cluster gr'; Expect = 'green' }
    ) {
        $text = $Line.Replace('KUBECONFIG', "'$kubeconfig'")
        $script = "`$blue = New-MeshControlPlane -Name blue-mesh -Cluster blue -MemberNamespace nfs-app-istio; `$green = New-MeshControlPlane -Name green-mesh -Cluster green`n" +
            "`$line = '$($text -replace "'", "''")'; (TabExpansion2 -inputScript `$line -cursorColumn `$line.Length).CompletionMatches.CompletionText"
        $r = Invoke-InHost -Script $script
        $r.Errors | Should -BeNullOrEmpty
        $r.Output | Should -Contain $Expect
    }

    It 'completes in the current scope too (Pester''s own session)' {
        $blueCp = New-MeshControlPlane -Name blue-mesh -Cluster blue
        $greenCp = New-MeshControlPlane -Name green-mesh -Cluster green
        $line = 'Export-MeshService -ControlPlane $blueCp -Namespace x -Peer gr'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'green-mesh'
    }
}

Describe 'Defect 5: one failing context does not hide the others' {
    It 'Get-MeshControlPlane reports each failed context and returns the others' {
        $err = $null
        $found = Get-MeshControlPlane -Context blue, gone, stranger, missing, green -KubeConfig $kubeconfig -ErrorVariable err -ErrorAction SilentlyContinue
        @($found.Name | Sort-Object) | Should -Be @('blue-mesh', 'green-mesh')
        $err.Count | Should -Be 3
        @($err.TargetObject | Sort-Object) | Should -Be @('gone', 'missing', 'stranger')
        ($err | Where-Object TargetObject -eq 'gone').CategoryInfo.Category | Should -Be 'ConnectionError'
        ($err | Where-Object TargetObject -eq 'stranger').CategoryInfo.Category | Should -Be 'PermissionDenied'
        ($err | Where-Object TargetObject -eq 'missing').CategoryInfo.Category | Should -Be 'ObjectNotFound'
        foreach ($e in $err) { $e.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty }
    }

    It 'Test-MeshFederation -Context fails the unreachable cluster and checks the others' {
        $err = $null
        $results = Test-MeshFederation -Context blue, gone, green -KubeConfig $kubeconfig -ErrorVariable err -ErrorAction SilentlyContinue
        $unreachable = @($results | Where-Object CheckId -eq 'CLUSTER.Reachable')
        $unreachable.Count | Should -Be 1
        $unreachable[0].Status | Should -Be 'Fail'
        ($unreachable[0].Evidence -join ' ') | Should -Match 'gone'
        @($results | Where-Object Mesh -eq 'blue-mesh').Count | Should -BeGreaterThan 3
        @($results | Where-Object Mesh -eq 'green-mesh').Count | Should -BeGreaterThan 3
        $err.TargetObject | Should -Contain 'gone'
    }
}

Describe 'Defect 6: Sync-MeshFederation -PassThru emits every outcome when one change fails' {
    It 'emits the failed change and the ones done' {
        $foreign = "apiVersion: maistra.io/v1`nkind: ServiceMeshMemberRoll`nmetadata:`n  name: default`n  namespace: green-mesh-system`nspec:`n  members:`n  - other-app`n"
        $foreign | kubectl --kubeconfig $kubeconfig --context green apply --server-side --force-conflicts --field-manager someone-else -f - 2>&1 | Out-Null
        kc green -n green-mesh-system delete importedserviceset blue-mesh | Out-Null
        $err = $null
        $outcomes = Import-MeshTopology -Path $seed001 | Sync-MeshFederation -KubeConfig $kubeconfig -PassThru -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $failed = @($outcomes | Where-Object Done -eq $false)
        $failed.Count | Should -Be 1
        $failed[0].Item.Kind | Should -Be 'ServiceMeshMemberRoll'
        @($outcomes | Where-Object { $_.Done -and $_.Item.Kind -eq 'ImportedServiceSet' }).Count | Should -Be 1
        $err.Count | Should -BeGreaterThan 0
        kc green -n green-mesh-system get importedserviceset blue-mesh -o name | Should -Be 'importedserviceset.federation.maistra.io/blue-mesh'
        Import-MeshTopology -Path $seed001 | Sync-MeshFederation -KubeConfig $kubeconfig -ForceConflicts -Confirm:$false
    }
}

Describe 'Defect 7: paths go through the PowerShell provider' {
    It 'resolves New-MeshControlPlane -KubeConfig ./live.config against $PWD, not the process directory' {
        $wd = New-Item -ItemType Directory (Join-Path $TestDrive 'wd')
        Copy-Item $kubeconfig (Join-Path $wd 'live.config')
        $r = Invoke-InHost -WorkingDirectory $wd -Script "New-MeshControlPlane -Name blue-mesh -Namespace blue-mesh-system -Cluster blue -KubeConfig ./live.config | Get-MeshFederationPlan"
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output).Count | Should -BeGreaterThan 0
        $cp = New-MeshControlPlane -Name x -Cluster blue -KubeConfig $kubeconfig
        [IO.Path]::IsPathRooted($cp.Cluster.KubeConfig) | Should -BeTrue
    }

    It 'refuses a path outside the file system and writes nothing' {
        $name = 'meshfed-defect7-' + [guid]::NewGuid().ToString('n')
        $wd = New-Item -ItemType Directory (Join-Path $TestDrive 'env')
        $r = Invoke-InHost -WorkingDirectory $wd -Script "`$blue, `$green | New-MeshPeer | Export-MeshManifest -Path Env:/$name" -Variables $quickStart
        $r.Errors.Count | Should -BeGreaterThan 0
        ($r.Errors[0] | Out-String) | Should -Match 'FileSystem'
        Test-Path (Join-Path $wd $name) | Should -BeFalse
        Test-Path (Join-Path ([Environment]::CurrentDirectory) $name) | Should -BeFalse
        Test-Path (Join-Path $RepoRoot $name) | Should -BeFalse
    }

    It 'takes wildcards and -LiteralPath (alias PSPath) on every -Path' {
        @(Import-MeshTopology -Path (Join-Path $ExamplesDir 'seed-00[12]-*.yaml') | Where-Object { $_ -is $cpType }).Count | Should -Be 4
        $odd = Join-Path $TestDrive 'odd[1].yaml'
        Copy-Item -LiteralPath $seed001 -Destination $odd
        @(Import-MeshTopology -LiteralPath $odd | Where-Object { $_ -is $cpType }).Count | Should -Be 2
        @(Test-MeshFederation -LiteralPath $odd).Count | Should -BeGreaterThan 0
        foreach ($c in Get-Command -Module MeshFederation | Where-Object { $_.Parameters.ContainsKey('Path') }) {
            $c.Parameters.Keys | Should -Contain 'LiteralPath' -Because "$($c.Name) has -Path"
            $c.Parameters['LiteralPath'].Aliases | Should -Contain 'PSPath' -Because "$($c.Name) -LiteralPath"
        }
    }

    It 'accepts PowerShell drives on file parameters' {
        $null = New-PSDrive -Name MFD7 -PSProvider FileSystem -Root $TestDrive -Scope Global
        try {
            Copy-Item $seed001 (Join-Path $TestDrive 'seed.yaml')
            @(Import-MeshTopology -Path MFD7:/seed.yaml).Count | Should -BeGreaterThan 0
            $files = Import-MeshTopology -Path MFD7:/seed.yaml | Export-MeshManifest -Path MFD7:/out -PassThru -WarningAction SilentlyContinue
            Join-Path $TestDrive 'out/blue.yaml' | Should -Exist
            $null = New-MeshCertificateAuthority -Cluster a -KeyAlgorithm EcdsaP256 -OutputPath MFD7:/ca
            Join-Path $TestDrive 'ca/a/ca-cert.pem' | Should -Exist
        } finally {
            Remove-PSDrive MFD7
        }
    }
}

Describe 'Defect 8: every output type has compact views' {
    It 'shows the quick start''s mixed objects without long lists' {
        $r = Invoke-InHost -Width 80 -Script '$blue, $green, $peers, $export, $import, $route' -Variables $quickStart
        $blocks = [regex]::Matches($r.Text, '(?m)(^\S[^\n:]*\s: .*\n)+')
        $blocks.Count | Should -BeGreaterThan 0
        foreach ($b in $blocks) { ($b.Value.TrimEnd("`n") -split "`n").Count | Should -BeLessOrEqual 7 -Because "a list entry of mixed output is compact:`n$($b.Value)" }
    }

    It 'fits every table in 80 columns with all its columns' {
        $ca = New-MeshCertificateAuthority -Cluster cluster1, cluster2 -KeyAlgorithm EcdsaP256
        $all = @(Import-MeshTopology -Path (Join-Path $ExamplesDir '*.yaml') -WarningAction SilentlyContinue) + @($ca) + @($ca.Clusters) +
            @(Import-MeshTopology -Path $seed001 | Test-MeshFederation) + @(Import-MeshTopology -Path $seed001 | ConvertTo-MeshManifest -WarningAction SilentlyContinue)
        $views = ([xml](Get-Content -Raw (Join-Path (Get-Module MeshFederation).ModuleBase 'MeshFederation.format.ps1xml'))).Configuration.ViewDefinitions.View | Where-Object { $_.TableControl }
        foreach ($group in $all | Group-Object { $_.GetType().FullName }) {
            $view = $views | Where-Object { $_.ViewSelectedBy.TypeName -eq $group.Name }
            $view | Should -Not -BeNullOrEmpty -Because "$($group.Name) needs a table view"
            $text = $group.Group | Format-Table | Out-String -Width 80
            # Every column is there (PowerShell drops the columns that do not fit; the last one may be cut short).
            $header = ($text -split "`n" | Where-Object { $_.Trim() } | Select-Object -First 1)
            $labels = @($view.TableControl.TableHeaders.TableColumnHeader.Label)
            @($header.Trim() -split '\s+').Count | Should -Be $labels.Count -Because "$($group.Name) shows all of $($labels -join ', ') at 80 columns:`n$text"
            ($text -split "`n" | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 80
        }
    }

    It 'labels columns with property names users can Where-Object on' {
        $views = ([xml](Get-Content -Raw (Join-Path (Get-Module MeshFederation).ModuleBase 'MeshFederation.format.ps1xml'))).Configuration.ViewDefinitions.View | Where-Object { $_.TableControl }
        foreach ($v in $views) {
            $type = $v.ViewSelectedBy.TypeName -as [type]
            $type | Should -Not -BeNullOrEmpty
            $names = @($type.GetProperties().Name) + @((Get-TypeData $type.FullName).Members.Keys)
            foreach ($h in $v.TableControl.TableHeaders.TableColumnHeader) {
                $h.Label | Should -BeIn $names -Because "$($type.Name) column '$($h.Label)' must name a property"
            }
        }
    }
}

Describe 'Defect 9: no System.Text.Json types on output objects' {
    BeforeAll {
        $all = @($blue, $green) + $peers + @($export, $import, $route)
        $manifests = $all | ConvertTo-MeshManifest -WarningAction SilentlyContinue
    }

    It 'reads a document''s content with dot notation under StrictMode' {
        $ingress = New-MeshControlPlane -Name blue-mesh -Namespace blue-mesh-system -Cluster blue -IngressAddress @{ 'green-mesh' = '10.19.3.29' }
        $doc = ($ingress, $green | New-MeshPeer | ConvertTo-MeshManifest -Cluster green -WarningAction SilentlyContinue).Documents | Where-Object Kind -eq ServiceMeshPeer
        & {
            Set-StrictMode -Version Latest
            $doc.Content.spec.remote.addresses | Should -Be '10.19.3.29'
            $doc.Content.metadata.name | Should -Be 'blue-mesh'
        }
    }

    It 'converts one cluster''s manifests to JSON without cycles' {
        $json = $manifests[0] | ConvertTo-Json -Depth 12 -WarningAction SilentlyContinue
        $json.Length | Should -BeLessThan 50KB
        ($json | ConvertFrom-Json).Documents.Kind | Should -Be $manifests[0].Documents.Kind
        $content = $manifests[0].Documents.Content | ConvertTo-Json -Depth 30
        ($content | ConvertFrom-Json).kind | Should -Be $manifests[0].Documents.Kind
    }

    It 'has no System.Text.Json value on any property of any output object' {
        $ca = New-MeshCertificateAuthority -Cluster cluster1 -KeyAlgorithm EcdsaP256
        $objects = @($all) + @($manifests) + @($manifests.Documents) + @(Import-MeshTopology -Path (Join-Path $ExamplesDir '*.yaml')) + @($ca) +
            @($all | Test-MeshFederation) + @(New-MeshControlPlane -Name x -SpecOverride @{ a = @{ b = 1 } })
        $leaks = foreach ($o in $objects) {
            foreach ($p in $o.PSObject.Properties) {
                $v = try { $p.Value } catch { $null }
                if ($null -eq $v) { continue }
                # The value itself (a JsonObject is enumerable: look at it, not at what @() would unroll), then a list's items.
                if ($v.GetType().Namespace -like 'System.Text.Json*') { "$($o.GetType().Name).$($p.Name): $($v.GetType().FullName)"; continue }
                if ($v -is [System.Collections.IList]) {
                    foreach ($x in $v) { if ($null -ne $x -and $x.GetType().Namespace -like 'System.Text.Json*') { "$($o.GetType().Name).$($p.Name)[]: $($x.GetType().FullName)" } }
                }
            }
        }
        $leaks | Should -BeNullOrEmpty
    }
}

Describe 'Defect 10: Export-MeshManifest -PassThru returns provider items' {
    It 'returns FileSystem items with PSPath and a normal table' {
        $out = Join-Path $TestDrive 'rendered10'
        $files = $blue, $green, $peers | Export-MeshManifest -Path $out -PassThru -WarningAction SilentlyContinue
        $files.Count | Should -Be 3
        foreach ($f in $files) {
            $f.PSPath | Should -BeLike 'Microsoft.PowerShell.Core\FileSystem::*'
            $f.PSProvider.Name | Should -Be 'FileSystem'
            $f.PSParentPath | Should -Not -BeNullOrEmpty
        }
        $text = $files | Out-String
        $text | Should -Match 'Mode\s+.*LastWriteTime'
        $text | Should -Match '(?m)^-[-rwx]{9}\s+\S+'
    }
}

Describe 'Defect 12: binding by property name' {
    It 'binds Style and Network of piped objects' {
        $cp = [pscustomobject]@{ Name = 'mesh1'; Cluster = 'cluster1'; Style = 'MultiPrimary'; Network = 'network1' } | New-MeshControlPlane
        $cp.Style | Should -Be 'MultiPrimary'
        $cp.Network | Should -Be 'network1'
    }

    It 'binds MemberNamespace and Context of Import-Csv rows' {
        $csv = Join-Path $TestDrive 'meshes.csv'
        "Name,Namespace,Cluster,MemberNamespace,Context`nblue-mesh,blue-mesh-system,blue,nfs-app-istio,ctx-blue`ngreen-mesh,green-mesh-system,green,nfs-app-istio,ctx-green" | Set-Content $csv
        $cps = Import-Csv $csv | New-MeshControlPlane
        $cps.Count | Should -Be 2
        $cps[0].MemberNamespaces | Should -Be 'nfs-app-istio'
        $cps[0].Cluster.Context | Should -Be 'ctx-blue'
    }

    It 'exports the rows of a CSV to one peering' {
        $csv = Join-Path $TestDrive 'services.csv'
        "Namespace,Name,AliasName`nnfs-app-istio,dokuwiki,wiki`nnfs-app-istio,mariadb," | Set-Content $csv
        $p = $peers | Where-Object LocalMesh -eq 'blue-mesh'
        $exports = Import-Csv $csv | Export-MeshService -Peering $p
        $exports.Count | Should -Be 2
        $exports[0].ExportedName | Should -Be 'wiki'
        $exports[1].Name | Should -Be 'mariadb'
    }

    It 'takes -Name at position 0 with wildcards and reports a literal name that matches nothing' {
        @(Get-MeshControlPlane blue* -Context blue, green -KubeConfig $kubeconfig).Name | Should -Be 'blue-mesh'
        @(Get-MeshControlPlane 'nomatch*' -Context blue -KubeConfig $kubeconfig).Count | Should -Be 0
        $err = $null
        Get-MeshControlPlane nosuch-mesh -Context blue -KubeConfig $kubeconfig -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'nosuch-mesh'
    }

    It 'does not take arbitrary pipeline objects as -Context' {
        $err = $null
        [pscustomobject]@{ Anything = 1 } | Get-MeshControlPlane -KubeConfig $kubeconfig -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InputObjectNotBound*'
        @([pscustomobject]@{ Context = 'green' } | Get-MeshControlPlane -KubeConfig $kubeconfig).Name | Should -Be 'green-mesh'
    }

    It 'binds a file from Get-Item to <Command>' -ForEach @(
        @{ Command = 'Test-MeshFederation'; Extra = @{} }
        @{ Command = 'Get-MeshFederationPlan'; Extra = @{ KubeConfig = '' } }
        @{ Command = 'Sync-MeshFederation'; Extra = @{ KubeConfig = ''; WhatIf = $true } }
        @{ Command = 'Remove-MeshFederation'; Extra = @{ KubeConfig = ''; WhatIf = $true } }
    ) {
        $params = @{} + $Extra
        if ($params.ContainsKey('KubeConfig')) { $params.KubeConfig = $kubeconfig }
        $err = $null
        $out = Get-Item $seed001 | & $Command @params -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -BeNullOrEmpty
        if ($Command -in 'Test-MeshFederation', 'Get-MeshFederationPlan') { @($out).Count | Should -BeGreaterThan 0 }
    }
}

Describe 'Defect 13: parameters a PowerShell user expects' {
    It 'takes durations as TimeSpans, not unit-suffixed numbers' {
        foreach ($c in Get-Command -Module MeshFederation) {
            foreach ($p in $c.Parameters.Values) { $p.Name | Should -Not -Match '(Seconds|Ms|Days|Minutes|Hours)$' -Because "$($c.Name) -$($p.Name) is a duration" }
        }
        (Get-Command Sync-MeshFederation).Parameters['WaitTimeout'].ParameterType | Should -Be ([timespan])
        (Get-Command New-FederationProxyConfig).Parameters['IdleTimeout'].ParameterType | Should -Be ([timespan])
        (Get-Command New-FederationProxyConfig).Parameters['HealthCheckInterval'].ParameterType | Should -Be ([timespan])
        (Get-Command New-MeshFailoverPolicy).Parameters['Interval'].ParameterType | Should -Be ([timespan])
        (Get-Command New-MeshCertificateAuthority).Parameters['Validity'].ParameterType | Should -Be ([timespan])
    }

    It 'renders a TimeSpan as an Istio duration and rejects a bare number with the units to use' {
        $cp = New-MeshControlPlane -Name mesh1 -Style MultiPrimary -Cluster cluster1 -Network network1
        $policy = $cp | New-MeshFailoverPolicy -Name helloworld -Namespace sample -FromRegion a -ToRegion b -Interval (New-TimeSpan -Seconds 5) -BaseEjectionTime '2m'
        $policy.Interval | Should -Be '5s'
        $policy.BaseEjectionTime | Should -Be '2m'
        ($cp, $policy | ConvertTo-MeshManifest -WarningAction SilentlyContinue).Yaml | Should -Match 'interval: 5s'
        { $cp | New-MeshFailoverPolicy -Name h -Namespace s -FromRegion a -ToRegion b -Interval 5 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*5s*'
    }

    It 'names every destination and source file -Path' {
        foreach ($c in Get-Command -Module MeshFederation) { $c.Parameters.Keys | Should -Not -Contain 'OutputPath' -Because $c.Name }
        (Get-Command New-MeshCertificateAuthority).Parameters['Path'].Aliases | Should -Contain 'OutputPath'
    }

    It 'Test-MeshFederation -Quiet answers true or false' {
        $blue, $green, $peers | Test-MeshFederation -Quiet | Should -BeTrue
        $blue, $green, $peers | Test-MeshFederation -Quiet | Should -BeOfType [bool]
        $twin = New-MeshControlPlane -Name twin -Cluster blue -TrustDomain blue-mesh.local
        $blue, $twin | New-MeshPeer | Test-MeshFederation -Quiet | Should -BeFalse
    }

    It '-TrustAlso takes PEM files' {
        $null = New-MeshCertificateAuthority -KeyAlgorithm EcdsaP256 -OutputPath (Join-Path $TestDrive 'old')
        $older = New-MeshCertificateAuthority -KeyAlgorithm EcdsaP256
        $new = New-MeshCertificateAuthority -Cluster c1 -KeyAlgorithm EcdsaP256 -TrustAlso (Get-Item (Join-Path $TestDrive 'old/root-cert.pem'))
        $new.AdditionalTrustedRoots.Count | Should -Be 1
        $new2 = New-MeshCertificateAuthority -Cluster c1 -KeyAlgorithm EcdsaP256 -TrustAlso (Join-Path $TestDrive 'old/root-c*.pem'), $older.Root.CertificatePem
        $new2.AdditionalTrustedRoots.Count | Should -Be 2
        $new2.Clusters[0].RootCertPem | Should -Match '(?s)(BEGIN CERTIFICATE.*){3}' 
    }

    It 'validates closed value sets: <Command> -<Parameter>' -ForEach @(
        @{ Command = 'New-MeshControlPlane'; Parameter = 'Style' }
        @{ Command = 'New-MeshControlPlane'; Parameter = 'GatewayExposure' }
        @{ Command = 'New-MeshControlPlane'; Parameter = 'SailApiVersion' }
        @{ Command = 'New-MeshCertificateAuthority'; Parameter = 'KeyAlgorithm' }
        @{ Command = 'ConvertTo-MeshFederationGraph'; Parameter = 'Format' }
        @{ Command = 'New-MeshTrafficSplit'; Parameter = 'ApiVersion' }
        @{ Command = 'New-MeshFailoverPolicy'; Parameter = 'ApiVersion' }
    ) {
        $p = (Get-Command $Command).Parameters[$Parameter]
        ($p.ParameterType.IsEnum -or ($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] })) | Should -BeTrue
        $line = "$Command -$Parameter "
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.Count | Should -BeGreaterThan 1
    }
}

Describe 'Defect 14: ErrorRecords a script can act on' {
    It 'reports a missing file as ObjectNotFound with the path given as target' {
        $errs = @()
        Import-MeshTopology -Path ./no-such-topology.yaml -ErrorVariable +errs -ErrorAction SilentlyContinue
        Test-MeshFederation -Path ./no-such-topology.yaml -ErrorVariable +errs -ErrorAction SilentlyContinue
        Sync-MeshFederation -LiteralPath ./no-such-topology.yaml -WhatIf -ErrorVariable +errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 3
        foreach ($e in $errs) {
            $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $e.TargetObject | Should -Be './no-such-topology.yaml'
            $e.FullyQualifiedErrorId | Should -BeLike 'MeshFederation.NotFound*'
        }
    }

    It 'targets the offending input object, not a type name' {
        $a = New-MeshControlPlane -Name a
        $err = $null
        $a, $a | New-MeshPeer -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].TargetObject | Should -BeOfType $cpType
        $err = $null
        'not a mesh object' | ConvertTo-MeshManifest -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].TargetObject | Should -Be 'not a mesh object'
    }

    It 'names the cluster and what to do on a connection error' {
        $err = $null
        Get-MeshControlPlane -Context gone -KubeConfig $kubeconfig -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $err[0].TargetObject | Should -Be 'gone'
        $err[0].Exception.Message | Should -Match 'gone'
        $err[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'shows the fix once' {
        $r = Invoke-InHost -Script 'New-MeshControlPlane -Name Blue_Mesh'
        $r.Errors.Count | Should -Be 1
        $fix = $r.Errors[0].ErrorDetails.RecommendedAction
        $fix | Should -Not -BeNullOrEmpty
        ([regex]::Matches($r.Text, [regex]::Escape($fix))).Count | Should -Be 1
    }
}

Describe 'Defect 15: one summary warning per command' {
    It 'warns once for the quick start, with details in the verbose stream, also under -WhatIf' {
        $r = Invoke-InHost -Script '$blue, $green, $peers, $export, $import, $route | Export-MeshManifest -Path ./rendered -WhatIf -Verbose' -WorkingDirectory $TestDrive -Variables $quickStart
        $r.Warnings.Count | Should -Be 1
        $r.Warnings[0] | Should -Match '4'
        @($r.Verbose | Where-Object { $_ -match 'not known offline' }).Count | Should -Be 4
        $r = Invoke-InHost -Script '$blue, $green, $peers | ConvertTo-MeshManifest | Out-Null' -Variables $quickStart
        $r.Warnings.Count | Should -Be 1
    }

    It 'warns once for six meshes' {
        $r = Invoke-InHost -Script '1..6 | ForEach-Object { New-MeshControlPlane -Name "mesh$_" } | New-MeshPeer | ConvertTo-MeshManifest | Out-Null'
        $r.Warnings.Count | Should -Be 1
        $r.Warnings[0] | Should -Match '60'
    }
}

Describe 'Defect 16: progress on long operations; Remove-MeshFederation asks once' {
    It 'reports progress while creating a certificate authority' {
        $r = Invoke-InHost -Script 'New-MeshCertificateAuthority -Cluster west, east -KeyAlgorithm EcdsaP256 | Out-Null'
        $records = @($r.Progress | Where-Object Activity -Match 'certificate authority')
        $records.Count | Should -BeGreaterThan 2
        ($records.StatusDescription -join ' ') | Should -Match 'root'
        ($records.StatusDescription -join ' ') | Should -Match 'west'
        ($records.StatusDescription -join ' ') | Should -Match 'east'
        $records[-1].RecordType | Should -Be 'Completed'
    }

    It 'validates cluster names before making the root' {
        $r = Invoke-InHost -Script 'New-MeshCertificateAuthority -Cluster Bad_Name -KeyAlgorithm Rsa4096 -Verbose'
        $r.Errors.Count | Should -BeGreaterThan 0
        $r.Output | Should -BeNullOrEmpty
        $r.Verbose -join "`n" | Should -Not -Match 'Root'
        ($r.Progress.StatusDescription -join ' ') | Should -Not -Match 'root'
    }

    It 'stops promptly while generating keys' {
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$ModulePath'; New-MeshCertificateAuthority -Cluster a, b, c -KeyAlgorithm Rsa4096")
        $async = $ps.BeginInvoke()
        $deadline = [DateTime]::UtcNow.AddSeconds(120)
        while ($ps.Streams.Progress.Count -eq 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        $ps.Streams.Progress.Count | Should -BeGreaterThan 0
        $ps.Stop()
        $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        { $ps.EndInvoke($async) } | Should -Throw -ExceptionType ([System.Management.Automation.MethodInvocationException])
        $ps.Dispose()
    }

    It 'reports progress per context while discovering' {
        $r = Invoke-InHost -Script "Get-MeshControlPlane -Context blue, green -KubeConfig '$kubeconfig' | Out-Null"
        $records = @($r.Progress | Where-Object Activity -Match 'Discovering')
        ($records.StatusDescription -join ' ') | Should -Match 'blue'
        ($records.StatusDescription -join ' ') | Should -Match 'green'
    }

    It 'Remove-MeshFederation asks once, and its progress says removing' {
        $r = Invoke-InHost -Script "Import-MeshTopology -Path '$seed001' | Remove-MeshFederation -KubeConfig '$kubeconfig'" -Answers 'Yes'
        $r.Errors | Should -BeNullOrEmpty
        $r.Prompts.Count | Should -Be 1
        $r.Prompts[0].Choices | Should -Contain 'Yes to All'
        ($r.Progress.Activity -join ' ') | Should -Not -Match 'Federating'
        ($r.Progress.Activity -join ' ') | Should -Match 'Removing'
        kc blue get smcp -A -o name | Should -BeNullOrEmpty
        kc green -n green-mesh-system get importedservicesets -o name | Should -BeNullOrEmpty
    }
}

Describe 'Defect 17: topologies from different files are different federations' {
    It 'checks every example topology on its own, without false TrustDomainUnique failures' {
        $results = Get-ChildItem $ExamplesDir -Filter *.yaml | Import-MeshTopology | Test-MeshFederation
        @($results | Where-Object { $_.CheckId -like '*TrustDomainUnique' -and $_.Status -eq 'Fail' }) | Should -BeNullOrEmpty
        @($results.Topology | Sort-Object -Unique).Count | Should -Be @(Get-ChildItem $ExamplesDir -Filter *.yaml).Count
        Get-ChildItem $ExamplesDir -Filter *.yaml | Import-MeshTopology | Test-MeshFederation -Quiet | Should -BeTrue
    }

    It 'checks files piped straight in the same way' {
        $results = Get-ChildItem $ExamplesDir -Filter *.yaml | Test-MeshFederation
        @($results.Topology | Sort-Object -Unique).Count | Should -Be @(Get-ChildItem $ExamplesDir -Filter *.yaml).Count
    }

    It 'still checks objects built in the session as one federation' {
        $twin = New-MeshControlPlane -Name twin -Cluster blue -TrustDomain blue-mesh.local
        $results = $blue, $twin | New-MeshPeer | Test-MeshFederation
        @($results | Where-Object { $_.CheckId -like '*TrustDomain*' -and $_.Status -eq 'Fail' }).Count | Should -BeGreaterThan 0
    }
}
