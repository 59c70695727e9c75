#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# The seed 001 pipeline through the real cmdlets. Runs wherever pwsh exists (./test.sh runs it when pwsh is on PATH).

BeforeAll {
    $modulePath = if ($env:MESHFED_MODULE_PATH) { $env:MESHFED_MODULE_PATH } else {
        Join-Path $PSScriptRoot '../../src/MeshFederation/bin/Release/net8.0/MeshFederation.psd1'
    }
    Import-Module $modulePath -Force
    $examples = Join-Path $PSScriptRoot '../../examples'
}

Describe 'MeshFederation module' {
    It 'exports exactly the cmdlets of the manifest' {
        $manifest = Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../MeshFederation.psd1')
        (Get-Command -Module MeshFederation).Name | Sort-Object | Should -Be ($manifest.CmdletsToExport | Sort-Object)
    }

    It 'has help for every cmdlet' {
        foreach ($name in (Get-Command -Module MeshFederation).Name) {
            (Get-Help $name).Synopsis | Should -Not -BeNullOrEmpty -Because $name
        }
    }

    It 'loads YamlDotNet into its own load context, not the default one' {
        Import-MeshTopology -Path (Join-Path $examples 'seed-002-bookinfo-split.yaml') | Should -Not -BeNullOrEmpty
        $default = [System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies | Where-Object { $_.GetName().Name -eq 'YamlDotNet' -and $_.Location -like '*MeshFederation*' }
        $default | Should -BeNullOrEmpty
        $isolated = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'MeshFederation.Dependencies'
        $isolated.Assemblies.GetName().Name | Should -Contain 'YamlDotNet'
    }
}

Describe 'Seed 001 pipeline' {
    BeforeAll {
        $runtime = @{ runtime = @{ defaults = @{ container = @{ imagePullPolicy = 'Always' } } } }
        $blue = New-MeshControlPlane -Name blue-mesh -Namespace blue-mesh-system -Cluster blue -Version v2.1 -MemberNamespace nfs-app-istio `
            -IngressGatewayName 'ingress-{peer}' -EgressGatewayName 'egress-{peer}' -IngressAddress @{ 'green-mesh' = '10.19.3.29' } -SpecOverride $runtime
        $green = New-MeshControlPlane -Name green-mesh -Namespace green-mesh-system -Cluster green -Version v2.1 -MemberNamespace nfs-app-istio `
            -IngressGatewayName 'ingress-{peer}' -EgressGatewayName 'egress-{peer}' -IngressAddress @{ 'blue-mesh' = '10.19.3.30' } -SpecOverride $runtime
        $peers = $blue, $green | New-MeshPeer
        $export = $peers | Where-Object LocalMesh -eq 'blue-mesh' |
            Export-MeshService -Namespace nfs-app-istio -Name dokuwiki -AliasNamespace nfs-app-istio -AliasName dokuwiki
        $import = $peers | Where-Object LocalMesh -eq 'green-mesh' |
            Import-MeshService -Namespace nfs-app-istio -Name dokuwiki -AliasNamespace nfs-app-istio -AliasName blue-dokuwiki
        $route = $import | New-MeshTrafficSplit -Name dokuwiki -LocalHost dokuwiki -RemoteWeight 100 -RouteHost '*' `
            -Gateway dokuwiki-gateway -UriExact /dokuwiki -UriPrefix /lib -Port 8080
        $all = @($blue, $green) + $peers + @($export, $import, $route)
    }

    It 'peers both directions with the seed clientIDs' {
        $peers | Should -HaveCount 2
        ($peers | Where-Object LocalMesh -eq 'blue-mesh').ClientId | Should -Be 'green-mesh.local/ns/green-mesh-system/sa/egress-blue-mesh-service-account'
        ($peers | Where-Object LocalMesh -eq 'green-mesh').ClientId | Should -Be 'blue-mesh.local/ns/blue-mesh-system/sa/egress-green-mesh-service-account'
    }

    It 'names the exported and imported hosts as OSSM does' {
        $export.ExportedHost | Should -Be 'dokuwiki.nfs-app-istio.svc.green-mesh-exports.local'
        $import.LocalHost | Should -Be 'blue-dokuwiki.nfs-app-istio.svc.blue-mesh-imports.local'
    }

    It 'renders one manifest set per cluster in apply order' {
        $manifests = $all | ConvertTo-MeshManifest -WarningAction SilentlyContinue
        $manifests.Cluster | Should -Be @('blue', 'green')
        $green = $manifests | Where-Object Cluster -eq 'green'
        $green.Documents.Kind | Should -Be @('Namespace', 'ServiceMeshControlPlane', 'ServiceMeshMemberRoll', 'ServiceMeshPeer', 'ImportedServiceSet', 'VirtualService')
        $green.Yaml | Should -Match 'clientID: blue-mesh.local/ns/blue-mesh-system/sa/egress-green-mesh-service-account'
    }

    It 'passes the checks except the root certificates it cannot know offline' {
        $results = $all | Test-MeshFederation
        $results | Where-Object Status -eq 'Fail' | Should -BeNullOrEmpty
        ($results | Where-Object Status -eq 'Warn').CheckId | Sort-Object -Unique | Should -Be 'OSSM2.PeerRootCertificate'
    }

    It 'writes nothing with -WhatIf and the files otherwise' {
        $out = Join-Path $TestDrive 'rendered'
        $all | Export-MeshManifest -Path $out -WhatIf -WarningAction SilentlyContinue
        Test-Path $out | Should -BeFalse
        $files = $all | Export-MeshManifest -Path $out -PassThru -WarningAction SilentlyContinue
        $files.Name | Sort-Object | Should -Be @('blue.yaml', 'green.yaml', 'SUMMARY.md')
    }

    It 'gives the same manifests as the topology file' {
        $fromPipeline = ($all | ConvertTo-MeshManifest -WarningAction SilentlyContinue).Documents.Count
        $fromTopology = (Import-MeshTopology -Path (Join-Path $examples 'seed-001-blue-green.yaml') | ConvertTo-MeshManifest -WarningAction SilentlyContinue).Documents.Count
        $fromPipeline | Should -Be $fromTopology
    }
}

Describe 'Completion and views' {
    BeforeAll {
        $script:blueCp = New-MeshControlPlane -Name blue-mesh -Cluster blue
        $script:greenCp = New-MeshControlPlane -Name green-mesh -Cluster green
    }

    It 'completes -Peer with the mesh names held in the session' {
        $line = 'Export-MeshService -ControlPlane $blueCp -Namespace x -Peer gr'
        $result = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $result.CompletionMatches.CompletionText | Should -Contain 'green-mesh'
    }

    It 'shows control planes in a table headed by property names, without certificates' {
        $text = $blueCp | Format-Table | Out-String
        $text | Should -Match 'Name\s+Namespace\s+ClusterName\s+Style\s+GatewayExposure'
        $text | Should -Not -Match 'BEGIN CERTIFICATE'
    }
}

Describe 'Errors' {
    It 'reports an invalid name with a stable id and the fix' {
        $err = $null
        New-MeshControlPlane -Name Blue_Mesh -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MeshFederation.InvalidArgument*'
        $err[0].ErrorDetails.RecommendedAction | Should -Match 'blue-mesh'
    }

    It 'reports a mesh federated with itself as a conflict' {
        $a = New-MeshControlPlane -Name a
        $err = $null
        $a, $a | New-MeshPeer -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MeshFederation.Conflict*'
    }
}

Describe 'Istio styles (seeds 003 and 004)' {
    It 'renders seed 003 with cacerts, Sail resources, the east-west gateway and failover, and redacts the keys' {
        $ca = New-MeshCertificateAuthority -Cluster 'cluster1', 'cluster2' -KeyAlgorithm EcdsaP256
        $cps = New-MeshControlPlane -Name mesh1 -Style MultiPrimary -Cluster 'cluster1', 'cluster2' -Network 'network1', 'network2'
        $failover = $cps[0] | New-MeshFailoverPolicy -Name helloworld -Namespace sample -FromRegion us-east-1 -ToRegion us-west-2
        $m = $cps, ($cps | New-MeshPeer), $failover, $ca | ConvertTo-MeshManifest -Cluster cluster1 -WarningAction SilentlyContinue
        $m.Documents.Kind | Should -Contain 'Istio'
        $m.Documents.Kind | Should -Contain 'IstioCNI'
        $m.Documents.Kind | Should -Contain 'DestinationRule'
        $m.Yaml | Should -Match 'meshID: mesh1'
        $m.Yaml | Should -Not -Match 'ca-key.pem: LS0t'
    }

    It 'imports echo as echo.default.global with a VIP from the range' {
        $pke = New-MeshControlPlane -Name pke -Style MultiMesh -Cluster pke -IngressAddress @{ '*' = '10.0.0.1' }
        $gke = New-MeshControlPlane -Name gke -Style MultiMesh -Cluster gke -IngressAddress @{ '*' = '10.0.0.2' }
        $peers = $pke, $gke | New-MeshPeer
        $import = $peers | Where-Object LocalMesh -eq 'pke' | Import-MeshService -Namespace default -Name echo -Port 'http1:80/HTTP'
        $import.LocalHost | Should -Be 'echo.default.global'
        ($pke, $gke, $peers, $import | ConvertTo-MeshManifest -Cluster pke -WarningAction SilentlyContinue).Yaml | Should -Match '127\.255\.'
    }

    It 'rejects a malformed port with the field and the fix' {
        $pke = New-MeshControlPlane -Name pke -Style MultiMesh -Cluster pke
        $err = $null
        $pke | Import-MeshService -Peer gke -Namespace default -Name echo -Port 'http1' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MeshFederation.InvalidArgument*'
        $err[0].Exception.Message | Should -Match 'name:number'
    }
}
