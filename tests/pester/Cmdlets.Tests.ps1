#Requires -Version 7.4
# Every cmdlet in every parameter set, run as a user runs it and judged by what it returns (and, live, by kubectl).
# A meta-test keeps this table complete: each (cmdlet, parameter set) the module declares has a case, and each case's
# parameters (command line and pipeline) select exactly the set it claims.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    $cases = @(
        @{ Cmdlet = 'ConvertTo-MeshFederationGraph'; Set = '__AllParameterSets'; Uses = 'InputObject', 'Format' }
        @{ Cmdlet = 'ConvertTo-MeshManifest'; Set = '__AllParameterSets'; Uses = 'InputObject', 'Cluster' }
        @{ Cmdlet = 'ConvertTo-MeshOssm3Federation'; Set = 'InputObject'; Uses = 'InputObject', 'Version' }
        @{ Cmdlet = 'ConvertTo-MeshOssm3Federation'; Set = 'Path'; Uses = 'Path', 'OutputDirectory' }
        @{ Cmdlet = 'ConvertTo-MeshOssm3Federation'; Set = 'LiteralPath'; Uses = 'LiteralPath', 'Name' }
        @{ Cmdlet = 'ConvertTo-MeshOssm3Federation'; Set = 'Context'; Uses = 'Context', 'KubeConfig', 'OutputDirectory' }
        @{ Cmdlet = 'Export-MeshManifest'; Set = 'Path'; Uses = 'InputObject', 'Path', 'PassThru' }
        @{ Cmdlet = 'Export-MeshManifest'; Set = 'LiteralPath'; Uses = 'InputObject', 'LiteralPath', 'PassThru' }
        @{ Cmdlet = 'Export-MeshService'; Set = 'Peering'; Uses = 'Peering', 'Namespace', 'Name' }
        @{ Cmdlet = 'Export-MeshService'; Set = 'ControlPlane'; Uses = 'ControlPlane', 'Peer', 'Namespace', 'LabelSelector' }
        @{ Cmdlet = 'Get-MeshControlPlane'; Set = '__AllParameterSets'; Uses = 'KubeConfig' }
        @{ Cmdlet = 'Get-MeshRootRotation'; Set = 'SharedRoot'; Uses = 'Context', 'KubeConfig', 'Namespace' }
        @{ Cmdlet = 'Get-MeshRootRotation'; Set = 'PeerRoot'; Uses = 'Context', 'KubeConfig', 'Mesh' }
        @{ Cmdlet = 'Start-MeshRootRotation'; Set = 'SharedRoot'; Uses = 'Context', 'NewRootCertificatePath', 'WaitTimeout', 'WhatIf' }
        @{ Cmdlet = 'Start-MeshRootRotation'; Set = 'PeerRoot'; Uses = 'Context', 'Mesh', 'NewRootCertificatePath', 'Adopt' }
        @{ Cmdlet = 'Step-MeshRootRotation'; Set = 'SharedRoot'; Uses = 'Context', 'Phase', 'Validity' }
        @{ Cmdlet = 'Step-MeshRootRotation'; Set = 'PeerRoot'; Uses = 'Context', 'Mesh', 'Phase', 'Adopt' }
        @{ Cmdlet = 'Get-MeshFederationPlan'; Set = 'InputObject'; Uses = 'InputObject', 'KubeConfig', 'ChangesOnly' }
        @{ Cmdlet = 'Get-MeshFederationPlan'; Set = 'Path'; Uses = 'Path', 'KubeConfig', 'Removal' }
        @{ Cmdlet = 'Get-MeshFederationPlan'; Set = 'LiteralPath'; Uses = 'LiteralPath', 'KubeConfig', 'Prune' }
        @{ Cmdlet = 'Import-MeshService'; Set = 'Peering'; Uses = 'Peering', 'Namespace', 'Name', 'AliasName' }
        @{ Cmdlet = 'Import-MeshService'; Set = 'ControlPlane'; Uses = 'ControlPlane', 'Peer', 'Namespace', 'Name', 'ImportAsLocal' }
        @{ Cmdlet = 'Import-MeshTopology'; Set = 'Path'; Uses = 'Path' }
        @{ Cmdlet = 'Import-MeshTopology'; Set = 'LiteralPath'; Uses = 'LiteralPath' }
        @{ Cmdlet = 'New-FederationProxyConfig'; Set = 'SharedHost'; Uses = 'Peering', 'ProxyHost', 'IdleTimeout', 'HealthCheckInterval' }
        @{ Cmdlet = 'New-FederationProxyConfig'; Set = 'PerCluster'; Uses = 'Peering', 'ClusterAddress', 'FirewallZone' }
        @{ Cmdlet = 'New-MeshCertificateAuthority'; Set = 'NewRoot'; Uses = 'Cluster', 'KeyAlgorithm', 'Validity', 'Organization', 'Path' }
        @{ Cmdlet = 'New-MeshCertificateAuthority'; Set = 'ExistingRoot'; Uses = 'Cluster', 'RootCertificatePath', 'RootKeyPath', 'LiteralPath' }
        @{ Cmdlet = 'New-MeshControlPlane'; Set = '__AllParameterSets'; Uses = 'Name', 'Cluster', 'Style', 'Network', 'MeshId' }
        @{ Cmdlet = 'New-MeshFailoverPolicy'; Set = '__AllParameterSets'; Uses = 'ControlPlane', 'Name', 'Namespace', 'FromRegion', 'ToRegion', 'Consecutive5xxErrors' }
        @{ Cmdlet = 'New-MeshPeer'; Set = '__AllParameterSets'; Uses = 'ControlPlane', 'DiscoveryPort', 'ServicePort' }
        @{ Cmdlet = 'New-MeshTrafficSplit'; Set = 'Import'; Uses = 'Import', 'Name', 'LocalHost', 'RemoteWeight', 'UriPrefix' }
        @{ Cmdlet = 'New-MeshTrafficSplit'; Set = 'ControlPlane'; Uses = 'ControlPlane', 'Name', 'Namespace', 'RouteHost', 'RemoteHost', 'RewriteAuthority' }
        @{ Cmdlet = 'Remove-MeshFederation'; Set = 'InputObject'; Uses = 'InputObject', 'KubeConfig', 'WhatIf' }
        @{ Cmdlet = 'Remove-MeshFederation'; Set = 'Path'; Uses = 'Path', 'KubeConfig', 'WhatIf' }
        @{ Cmdlet = 'Remove-MeshFederation'; Set = 'LiteralPath'; Uses = 'LiteralPath', 'KubeConfig', 'KeepNamespace', 'Force', 'PassThru' }
        @{ Cmdlet = 'Sync-MeshFederation'; Set = 'InputObject'; Uses = 'InputObject', 'KubeConfig', 'PassThru', 'WaitTimeout' }
        @{ Cmdlet = 'Sync-MeshFederation'; Set = 'Path'; Uses = 'Path', 'KubeConfig', 'WhatIf' }
        @{ Cmdlet = 'Sync-MeshFederation'; Set = 'LiteralPath'; Uses = 'LiteralPath', 'KubeConfig', 'ThrottleLimit', 'PassThru' }
        @{ Cmdlet = 'Test-MeshFederation'; Set = 'InputObject'; Uses = 'InputObject' }
        @{ Cmdlet = 'Test-MeshFederation'; Set = 'Path'; Uses = 'Path', 'Live', 'KubeConfig' }
        @{ Cmdlet = 'Test-MeshFederation'; Set = 'LiteralPath'; Uses = 'LiteralPath', 'Quiet' }
        @{ Cmdlet = 'Test-MeshFederation'; Set = 'Snapshot'; Uses = 'Snapshot', 'Path', 'AsOf' }
        @{ Cmdlet = 'Test-MeshFederation'; Set = 'Context'; Uses = 'Context', 'KubeConfig' }
        @{ Cmdlet = 'Test-MeshFederation'; Set = 'OcmHub'; Uses = 'OcmHub', 'Path', 'KubeConfig' }
        @{ Cmdlet = 'Update-MeshRemoteSecret'; Set = '__AllParameterSets'; Uses = 'Cluster', 'Context', 'KubeConfig', 'TokenExpiry', 'TakeOver', 'WhatIf' }
    )
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    Import-MeshFederationUnderTest
    Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
    $kube = Start-TestKube -Cluster blue, green -Operator ossm2, federation -Namespace nfs-app-istio
    $kubeconfig = $kube.Kubeconfig
    function kc([string] $Context) { kubectl --kubeconfig $kubeconfig --context $Context @args 2>&1 }
    # Seed 001 as applied to these clusters: the seed's ingress addresses are its own MetalLB's; here they are read live
    # (the live checks rightly fail a ServiceMeshPeer that points elsewhere than the remote gateway).
    $seed001 = Join-Path $TestDrive 'seed-001-blue-green.yaml'
    Get-Content (Join-Path $ExamplesDir 'seed-001-blue-green.yaml') | Where-Object { $_ -notmatch 'ingressAddresses|LoadBalancer IP of blue' } | Set-Content $seed001
    $blue = New-MeshControlPlane -Name blue-mesh -Namespace blue-mesh-system -Cluster blue -MemberNamespace nfs-app-istio
    $green = New-MeshControlPlane -Name green-mesh -Namespace green-mesh-system -Cluster green -MemberNamespace nfs-app-istio
    $peers = $blue, $green | New-MeshPeer
    $bluePeering = $peers | Where-Object LocalMesh -eq 'blue-mesh'
    $greenPeering = $peers | Where-Object LocalMesh -eq 'green-mesh'
    $odd = Join-Path $TestDrive 'seed[1].yaml'
    Copy-Item -LiteralPath $seed001 -Destination $odd
}

AfterAll { Stop-TestKube $kube }

Describe 'The case table' {
    It 'covers every parameter set of every cmdlet' -TestCases @(@{ All = $cases }) {
        $cases = $All
        $declared = foreach ($c in Get-Command -Module MeshFederation) { foreach ($s in $c.ParameterSets) { "$($c.Name)/$($s.Name)" } }
        $covered = $cases | ForEach-Object { "$($_.Cmdlet)/$($_.Set)" }
        foreach ($d in $declared) { $covered | Should -Contain $d }
    }

    It '<Cmdlet> <Uses> selects the parameter set <Set>' -ForEach $cases {
        $command = Get-Command $Cmdlet
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        $fits = @($command.ParameterSets | Where-Object {
                $names = @($_.Parameters.Name)
                $mandatory = @($_.Parameters | Where-Object IsMandatory | ForEach-Object Name)
                -not ($Uses | Where-Object { $_ -notin $names -and $_ -notin $common }) -and -not ($mandatory | Where-Object { $_ -notin $Uses })
            } | ForEach-Object Name)
        $fits | Should -Be @($Set) -Because "only the set $Set takes $($Uses -join ', ') with its mandatory parameters"
    }
}

Describe 'Offline cmdlets in every parameter set' {
    It 'ConvertTo-MeshFederationGraph draws Mermaid, DOT and SVG' {
        $peers | ConvertTo-MeshFederationGraph | Should -Match '^flowchart LR'
        $peers | ConvertTo-MeshFederationGraph -Format Dot | Should -Match '^digraph federation'
        ($peers | ConvertTo-MeshFederationGraph Svg) -join "`n" | Should -Match '<svg'
    }

    It 'ConvertTo-MeshManifest renders the clusters asked for' {
        $m = $blue, $green, $peers | ConvertTo-MeshManifest -Cluster green -WarningAction SilentlyContinue
        $m.Cluster | Should -Be 'green'
        $m.Documents.Kind | Should -Contain 'ServiceMeshPeer'
        $m.Yaml | Should -Match 'name: blue-mesh'
    }

    It 'ConvertTo-MeshOssm3Federation migrates objects, a -Path (wildcards) and a -LiteralPath file' {
        $topology = Join-Path $ExamplesDir 'ossm2-federation-to-migrate.yaml'
        $m = Import-MeshTopology -Path $topology | ConvertTo-MeshOssm3Federation -Version v1.24.3 -WarningAction SilentlyContinue
        $m.Target.ControlPlanes.Version | Sort-Object -Unique | Should -Be 'v1.24.3'
        $m.Files['steps/6-install-ossm3/east.yaml'] | Should -Match 'version: v1.24.3'
        $out = Join-Path $TestDrive 'migration'
        $m = ConvertTo-MeshOssm3Federation -Path (Join-Path $ExamplesDir 'ossm2-federation-to-*.yaml') -OutputDirectory $out -WarningAction SilentlyContinue
        $m.Steps.Number | Should -Be (1..8)
        Get-Content -Raw (Join-Path $out 'steps/2-export/west.yaml') | Should -Match 'kind: Gateway'
        Import-MeshTopology -Path (Join-Path $out 'ossm3-topology.yaml') | Where-Object Style -eq 'Ossm3Federation' | ForEach-Object Name | Should -Be @('east-mesh', 'west-mesh')
        $literal = Join-Path $TestDrive 'federation[2].yaml'
        Copy-Item -LiteralPath $topology -Destination $literal
        $m = ConvertTo-MeshOssm3Federation -LiteralPath $literal -Name federation-2 -WarningAction SilentlyContinue
        $m.Name | Should -Be 'federation-2'
        $m.TopologyYaml | Should -Match 'name: federation-2'
    }

    It 'Export-MeshManifest writes into -Path and -LiteralPath' {
        $files = $blue, $green, $peers | Export-MeshManifest -Path (Join-Path $TestDrive 'out') -PassThru -WarningAction SilentlyContinue
        $files.Name | Sort-Object | Should -Be @('blue.yaml', 'green.yaml', 'SUMMARY.md')
        $literal = Join-Path $TestDrive 'out[1]'
        $files = $blue, $green, $peers | Export-MeshManifest -LiteralPath $literal -PassThru -WarningAction SilentlyContinue
        $files.DirectoryName | Sort-Object -Unique | Should -Be $literal
        Get-Content -LiteralPath (Join-Path $literal 'green.yaml') -Raw | Should -Match 'kind: ServiceMeshPeer'
    }

    It 'Export-MeshService from a peering and from a control plane' {
        ($bluePeering | Export-MeshService -Namespace nfs-app-istio -Name dokuwiki).ExportedHost | Should -Be 'dokuwiki.nfs-app-istio.svc.green-mesh-exports.local'
        $e = $blue | Export-MeshService -Peer green-mesh -Namespace bookinfo -LabelSelector @{ app = 'ratings' }
        $e.IsLabelSelector | Should -BeTrue
        $e.Peer | Should -Be 'green-mesh'
    }

    It 'Import-MeshService from a peering and from a control plane' {
        ($greenPeering | Import-MeshService -Namespace nfs-app-istio -Name dokuwiki -AliasName blue-dokuwiki).LocalHost | Should -Be 'blue-dokuwiki.nfs-app-istio.svc.blue-mesh-imports.local'
        $i = $green | Import-MeshService -Peer blue-mesh -Namespace nfs-app-istio -Name dokuwiki -AliasNamespace nfs-app-istio -ImportAsLocal
        $i.ImportAsLocal | Should -BeTrue
        $i.LocalHost | Should -Be 'dokuwiki.nfs-app-istio.svc.cluster.local'
    }

    It 'Import-MeshTopology by -Path (wildcards) and -LiteralPath' {
        @(Import-MeshTopology -Path (Join-Path $ExamplesDir 'seed-00?-*.yaml') | Where-Object { $_ -is [MeshFederation.Engine.Model.MeshControlPlane] }).Count | Should -BeGreaterThan 6
        $objects = Import-MeshTopology -LiteralPath $odd
        @($objects).Count | Should -Be 7
        $objects[0].Topology | Should -Be $odd
    }

    It 'New-FederationProxyConfig on one host and one address per cluster' {
        $m1 = New-MeshControlPlane -Name mesh1 -Cluster mesh1 -GatewayExposure NodePort -NodeAddress 192.168.126.11
        $m2 = New-MeshControlPlane -Name mesh2 -Cluster mesh2 -GatewayExposure NodePort -NodeAddress 192.168.127.11
        $shared = $m1, $m2 | New-MeshPeer | New-FederationProxyConfig -ProxyHost 192.168.122.1 -IdleTimeout 30m -HealthCheckInterval 500ms
        $shared.Mode | Should -Be 'SharedHost'
        $shared.HaproxyConfig | Should -Match 'timeout client 1800s|timeout client +30m'
        $shared.HaproxyConfig | Should -Match 'inter 500'
        $config = Join-Path $TestDrive 'federation.cfg'
        Set-Content -LiteralPath $config -Value $shared.HaproxyConfig
        haproxy -c -f $config 2>&1 | Out-String | Should -Match 'Configuration file is valid'
        $per = $m1, $m2 | New-MeshPeer | New-FederationProxyConfig -ClusterAddress @{ mesh1 = '10.16.0.10'; mesh2 = '10.16.0.20' } -FirewallZone public
        $per.Mode | Should -Be 'PerCluster'
        $per.FirewallCommands -join "`n" | Should -Match '--zone=public'
    }

    It 'New-MeshCertificateAuthority makes a root, then issues under it' {
        $dir = Join-Path $TestDrive 'ca'
        $ca = New-MeshCertificateAuthority -Cluster c1 -KeyAlgorithm EcdsaP256 -Validity 30d -Organization Example -Path $dir
        $ca.ValidityDays | Should -Be 30
        $ca.Root.Subject | Should -Match 'O=Example'
        $dir2 = Join-Path $TestDrive 'ca[2]'
        $more = New-MeshCertificateAuthority -Cluster c2 -RootCertificatePath (Join-Path $dir 'root-cert.pem') -RootKeyPath (Join-Path $dir 'root-key.pem') -LiteralPath $dir2
        $more.Root.Thumbprint | Should -Be $ca.Root.Thumbprint
        openssl verify -CAfile (Join-Path $dir 'root-cert.pem') (Join-Path $dir2 'c2/ca-cert.pem') | Should -Match ': OK$'
        (Get-Item -LiteralPath (Join-Path $dir2 'c2/ca-key.pem')).UnixMode | Should -Be '-rw-------'
    }

    It 'New-MeshControlPlane, New-MeshFailoverPolicy, New-MeshPeer and New-MeshTrafficSplit' {
        $cps = New-MeshControlPlane -Name mesh1 -Cluster cluster1, cluster2 -Style MultiPrimary -Network network1, network2 -MeshId shared
        $cps.Name | Should -Be @('cluster1-mesh1', 'cluster2-mesh1')
        $cps.MeshId | Sort-Object -Unique | Should -Be 'shared'
        $policy = $cps[0] | New-MeshFailoverPolicy -Name helloworld -Namespace sample -FromRegion r1 -ToRegion r2 -Consecutive5xxErrors 3
        $policy.Consecutive5xxErrors | Should -Be 3
        $p = $blue, $green | New-MeshPeer -DiscoveryPort 9188 -ServicePort 16443
        $p.DiscoveryPort | Sort-Object -Unique | Should -Be 9188
        $p.ServicePort | Sort-Object -Unique | Should -Be 16443
        $split = $greenPeering | Import-MeshService -Namespace nfs-app-istio -Name dokuwiki | New-MeshTrafficSplit -Name dokuwiki -LocalHost dokuwiki -RemoteWeight 30 -UriPrefix /wiki
        $split.LocalWeight | Should -Be 70
        $split.RemoteWeight | Should -Be 30
        $direct = $green | New-MeshTrafficSplit -Name ratings -Namespace nfs-app-istio -RouteHost ratings.nfs-app-istio.svc.cluster.local -RemoteHost ratings.nfs-app-istio.svc.blue-mesh-imports.local -RewriteAuthority ratings.bookinfo.svc.cluster.local
        $yaml = ($green, $direct | ConvertTo-MeshManifest -WarningAction SilentlyContinue).Yaml
        $yaml | Should -Match 'authority: ratings.bookinfo.svc.cluster.local'
        $yaml | Should -Match 'host: ratings.nfs-app-istio.svc.blue-mesh-imports.local'
    }

    It 'Test-MeshFederation on objects, a -LiteralPath file (-Quiet) and a snapshot' {
        ($blue, $green, $peers | Test-MeshFederation).CheckId | Should -Contain 'OSSM2.PeerBothSides'
        Test-MeshFederation -LiteralPath $odd -Quiet | Should -BeTrue
    }
}

Describe 'Live cmdlets in every parameter set' {
    It 'Sync-MeshFederation applies from objects, -Path and -LiteralPath' {
        $outcomes = Import-MeshTopology -Path $seed001 | Sync-MeshFederation -KubeConfig $kubeconfig -PassThru -WaitTimeout 2m -Confirm:$false
        @($outcomes | Where-Object Done).Count | Should -BeGreaterThan 10
        kc green -n green-mesh-system get servicemeshpeer blue-mesh -o 'jsonpath={.spec.remote.addresses[0]}' | Should -Match '^10\.19\.'
        Sync-MeshFederation -Path $seed001 -KubeConfig $kubeconfig -WhatIf | Should -BeNullOrEmpty
        @(Sync-MeshFederation -LiteralPath $odd -KubeConfig $kubeconfig -ThrottleLimit 1 -PassThru -Confirm:$false).Count | Should -Be 0
    }

    It 'Get-MeshControlPlane reads the current context when none is given' {
        $cp = Get-MeshControlPlane -KubeConfig $kubeconfig
        $cp.Name | Should -Be 'blue-mesh'
        $cp.Discovered | Should -BeTrue
    }

    It 'Get-MeshFederationPlan from objects, -Path (-Removal) and -LiteralPath (-Prune)' {
        Import-MeshTopology -Path $seed001 | Get-MeshFederationPlan -KubeConfig $kubeconfig -ChangesOnly | Should -BeNullOrEmpty
        $removal = Get-MeshFederationPlan -Path $seed001 -KubeConfig $kubeconfig -Removal
        $removal.Action | Sort-Object -Unique | Should -Be 'Delete'
        $partial = Join-Path $TestDrive 'partial.yaml'
        (Get-Content -Raw $seed001) -replace '(?s)\ntrafficSplits:.*', "`n" | Set-Content -LiteralPath $partial
        $pruned = Get-MeshFederationPlan -LiteralPath $partial -KubeConfig $kubeconfig -Prune | Where-Object Action -eq Delete
        $pruned.Kind | Should -Be 'VirtualService'
    }

    It 'Test-MeshFederation -Live on a -Path, on -Context, and on a snapshot' {
        $live = Test-MeshFederation -Path $seed001 -Live -KubeConfig $kubeconfig
        $live | Where-Object Status -eq Fail | Should -BeNullOrEmpty
        ($live.CheckId | Sort-Object -Unique) | Should -Contain 'OSSM2.ControlPlaneReady'
        $byContext = Test-MeshFederation -Context blue, green -KubeConfig $kubeconfig
        ($byContext | Where-Object CheckId -eq 'OSSM2.ControlPlaneReady').Status | Should -Be @('Pass', 'Pass')
        $snapshot = New-Item -ItemType Directory (Join-Path $TestDrive 'snapshot')
        foreach ($c in 'blue', 'green') {
            $dir = New-Item -ItemType Directory (Join-Path $snapshot $c)
            kubectl --kubeconfig $kubeconfig --context $c get smcp,servicemeshpeer,exportedserviceset,importedserviceset,configmap,service,pod,node -A -o yaml > (Join-Path $dir 'objects.yaml')
        }
        $saved = Test-MeshFederation -Snapshot $snapshot -Path $seed001 -AsOf (Get-Date)
        $saved | Where-Object Status -eq Fail | Should -BeNullOrEmpty
        @($saved).Count | Should -BeGreaterThan 10
    }

    It 'ConvertTo-MeshOssm3Federation reads the federation of -Context and changes nothing' {
        $before = kc blue get 'smcp,servicemeshpeer,exportedserviceset' -A -o 'jsonpath={.items[*].metadata.resourceVersion}'
        $before | Should -Match '^\d+ \d+ \d+$'
        $out = Join-Path $TestDrive 'live-migration'
        $m = ConvertTo-MeshOssm3Federation -Context blue, green -KubeConfig $kubeconfig -OutputDirectory $out -WarningAction SilentlyContinue
        ($m.Target.ControlPlanes | Sort-Object Name).Name | Should -Be @('blue-mesh', 'green-mesh')
        ($m.Target.Exports | Where-Object Name -eq 'dokuwiki').Mesh | Should -Be 'blue-mesh'
        $m.Steps[3].Actions.Command | Should -Contain 'kubectl --context blue -n blue-mesh-system delete exportedserviceset green-mesh'
        Get-Content -Raw (Join-Path $out 'steps/1-prepare-ossm2/blue.patch.json') | ConvertFrom-Json | ForEach-Object { $_.spec.cluster.network } | Should -Be 'network-blue-mesh'
        kc blue get 'smcp,servicemeshpeer,exportedserviceset' -A -o 'jsonpath={.items[*].metadata.resourceVersion}' | Should -Be $before
    }

    It 'Remove-MeshFederation from objects (-WhatIf), -Path (-WhatIf) and -LiteralPath' {
        Import-MeshTopology -Path $seed001 | Remove-MeshFederation -KubeConfig $kubeconfig -WhatIf
        Remove-MeshFederation -Path $seed001 -KubeConfig $kubeconfig -WhatIf
        kc blue get smcp -A -o name | Should -Be 'servicemeshcontrolplane.maistra.io/blue-mesh'
        $gone = Remove-MeshFederation -LiteralPath $odd -KubeConfig $kubeconfig -KeepNamespace -Force -PassThru
        @($gone).Count | Should -BeGreaterThan 0
        # Every outcome Done; a failure names the object, its state and why (e.g. still terminating when the wait ended).
        @($gone | Where-Object { -not $_.Done } | ForEach-Object { $_.ToString() }) | Should -BeNullOrEmpty
        kc blue get smcp -A -o name | Should -BeNullOrEmpty
        kc blue get namespace blue-mesh-system -o name | Should -Be 'namespace/blue-mesh-system'
    }
}
