#Requires -Version 7.4
# Every example of docs/<Cmdlet>.md and README.md executed as a user runs it, with what it shows compared with the
# documented ```output (Support/Examples.ps1 says how); every examples/*.ps1 run; and (defect 11) every object any of
# them emitted is of a type its cmdlet declares in [OutputType].
#
# The examples of a page run in order in one session (a later example may use what an earlier one made), in a fresh
# folder holding examples/*.yaml, topology.yaml (seed 001), ci-kubeconfig and case-1234/ (a kubectl snapshot). The
# session starts with the README PowerShell quick start, so $blue, $green, $peers, $export, $import and $route exist.
# Live examples reach test API servers (tests/MeshFederation.TestKube.Host): contexts blue and green (OpenShift Service
# Mesh 2 operator and federation) and mesh1, mesh2 (OpenShift Service Mesh 2 operator), by $env:KUBECONFIG; before a
# page that reads or changes clusters, they hold seed 001 as Sync-MeshFederation applies it and nothing else.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    . (Join-Path $PSScriptRoot 'Support/Examples.ps1')
    $pages = @(Get-ChildItem $DocsDir -Filter '*-*.md' | Sort-Object Name | ForEach-Object {
            @{ Page = $_.Name; Path = $_.FullName; Examples = @(Get-DocExample -Path $_.FullName | ForEach-Object { @{ Title = $_.Title; Line = $_.Line; Code = $_.Code; Expected = $_.Expected } }) }
        })
    $readme = @(Get-DocExample -Path (Join-Path $RepoRoot 'README.md') | ForEach-Object { @{ Title = $_.Title; Line = $_.Line; Code = $_.Code; Expected = $_.Expected } })
    $scripts = @(Get-ChildItem $ExamplesDir -Filter *.ps1 | Sort-Object Name | ForEach-Object { @{ Name = $_.Name; Path = $_.FullName } })
    Import-MeshFederationUnderTest
    $cmdletNames = @(Get-Command -Module MeshFederation | ForEach-Object Name)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    . (Join-Path $PSScriptRoot 'Support/Examples.ps1')
    Import-MeshFederationUnderTest
    Import-Module (Join-Path $PSScriptRoot 'Support/TestKube.psm1') -Force
    $kube = Start-TestKube -Cluster 'blue:ossm2,federation', 'green:ossm2,federation', 'mesh1:ossm2', 'mesh2:ossm2', 'north:sail', 'south:sail' -Namespace nfs-app-istio, bookinfo
    $savedKubeconfig = $env:KUBECONFIG
    $env:KUBECONFIG = $kube.Kubeconfig
    # topology.yaml of the examples: seed 001 as these clusters run it, its ingress addresses read live (the seed's are
    # its own MetalLB's, and the live checks rightly fail a ServiceMeshPeer that points elsewhere than the gateway).
    $seed001 = Join-Path ([IO.Path]::GetTempPath()) ("meshfed-topology-" + [guid]::NewGuid().ToString('n') + '.yaml')
    Get-Content (Join-Path $ExamplesDir 'seed-001-blue-green.yaml') | Where-Object { $_ -notmatch 'ingressAddresses|LoadBalancer IP of blue' } | Set-Content $seed001
    $quickStart = ((Get-DocExample -Path (Join-Path $RepoRoot 'README.md'))[0].Code -split "`n" | Where-Object { $_ -notmatch '^\s*Install-Module\b' }) -join "`n"
    $cmdlets = @((Get-Command -Module MeshFederation).Name)
    # Defect 11: each cmdlet's output collected wherever it runs (OutVariable with + appends; global: survives scripts).
    $outVariables = ($cmdlets | ForEach-Object { "'$($_):OutVariable' = '+global:__meshfedOut_$($_ -replace '-', '_')'" }) -join '; '
    $collect = "`$global:PSDefaultParameterValues = @{ $outVariables }"
    $emitted = @{}

    # The clusters as seed 001 leaves them: applied, with nothing else meshfederation made.
    function Reset-Clusters {
        $null = Import-MeshTopology -Path $seed001 | Sync-MeshFederation -Prune -Force -ForceConflicts -WarningAction SilentlyContinue
    }
    Reset-Clusters
    $template = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) ("meshfed-examples-" + [guid]::NewGuid().ToString('n')))
    $null = New-Item -ItemType Directory (Join-Path $template 'examples')
    Copy-Item (Join-Path $ExamplesDir '*.yaml') (Join-Path $template 'examples')
    Copy-Item $seed001 (Join-Path $template 'topology.yaml')
    Copy-Item $kube.Kubeconfig (Join-Path $template 'ci-kubeconfig')
    # The root rotation pages (issue 18): north and south run a Sail istiod with ISTIO_MULTIROOT_MESH=true and cacerts
    # under one root; ./new-root holds the root to rotate to. The pages run in order: Get-, Start-, Step-MeshRootRotation.
    $rotationCa = Join-Path ([IO.Path]::GetTempPath()) ("meshfed-rotation-" + [guid]::NewGuid().ToString('n'))
    $null = New-MeshCertificateAuthority -Cluster north, south -KeyAlgorithm EcdsaP256 -Path $rotationCa
    $null = New-MeshCertificateAuthority -KeyAlgorithm EcdsaP256 -Path (Join-Path $template 'new-root')
    foreach ($context in 'north', 'south') {
        $null = kubectl --context $context create namespace istio-system
        $files = 'ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem' | ForEach-Object { "--from-file=$_=$(Join-Path $rotationCa "$context/$_")" }
        $null = kubectl --context $context -n istio-system create secret generic cacerts @files
        $null = @"
apiVersion: sailoperator.io/v1
kind: Istio
metadata:
  name: default
spec:
  version: v1.27.3
  namespace: istio-system
  values:
    global:
      multiCluster:
        clusterName: $context
    pilot:
      env:
        ISTIO_MULTIROOT_MESH: "true"
"@ | kubectl --context $context apply -f -
    }
    Remove-Item -Recurse -Force $rotationCa
    # The remote-secret page (issue 18): north watches south through istio-remote-secret-south with the token of south's
    # reader, both made as meshfed apply makes them (server-side apply by meshfederation, with the creation record).
    $null = @'
apiVersion: v1
kind: ServiceAccount
metadata: {name: meshfed-reader, namespace: istio-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: meshfed-reader-istio-system}
rules:
- apiGroups: [""]
  resources: [services, endpoints, pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: meshfed-reader-istio-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: meshfed-reader-istio-system}
subjects:
- {kind: ServiceAccount, name: meshfed-reader, namespace: istio-system}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: meshfed-reader-istio-remote-secret-token
  namespace: istio-system
  annotations: {kubernetes.io/service-account.name: meshfed-reader, federation.meshfederation.io/created: "2026-01-01T00:00:00Z"}
'@ | kubectl --context south apply --server-side --field-manager=meshfederation -f -
    $deadline = (Get-Date).AddSeconds(20)
    while (-not ($readerToken = kubectl --context south -n istio-system get secret meshfed-reader-istio-remote-secret-token -o 'jsonpath={.data.token}') -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
    $southKubeconfig = @{
        apiVersion = 'v1'; kind = 'Config'; 'current-context' = 'south'
        clusters = @(@{ name = 'south'; cluster = @{ server = (kubectl config view --raw --minify --context south -o 'jsonpath={.clusters[0].cluster.server}'); 'certificate-authority-data' = (kubectl config view --raw --minify --context south -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}') } })
        contexts = @(@{ name = 'south'; context = @{ cluster = 'south'; user = 'south' } })
        users = @(@{ name = 'south'; user = @{ token = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($readerToken)) } })
    } | ConvertTo-Json -Depth 5
    $null = @"
apiVersion: v1
kind: Secret
metadata:
  name: istio-remote-secret-south
  namespace: istio-system
  labels: {istio/multiCluster: "true"}
  annotations: {networking.istio.io/cluster: south, federation.meshfederation.io/created: "2026-01-01T00:00:00Z"}
data:
  south: $([Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($southKubeconfig)))
"@ | kubectl --context north apply --server-side --field-manager=meshfederation -f -
    foreach ($context in 'blue', 'green') {
        $dir = New-Item -ItemType Directory (Join-Path $template "case-1234/$context")
        kubectl --context $context get smcp,servicemeshpeer,exportedserviceset,importedserviceset,configmap,service,pod,node -A -o yaml > (Join-Path $dir 'objects.yaml')
    }

    function New-ExampleFolder {
        $dir = Join-Path ([IO.Path]::GetTempPath()) ("meshfed-example-" + [guid]::NewGuid().ToString('n'))
        Copy-Item -Recurse $template $dir
        $dir
    }

    function Save-Emitted($Session) {
        foreach ($c in $cmdlets) {
            $name = "__meshfedOut_$($c -replace '-', '_')"
            $values = $Session.Runspace.SessionStateProxy.GetVariable($name)
            if ($values) {
                if (-not $emitted[$c]) { $emitted[$c] = [System.Collections.Generic.List[object]]::new() }
                foreach ($v in $values) { $emitted[$c].Add($v) }
            }
        }
    }

    function Test-Example($Session, $Example, [string] $File) {
        $r = Invoke-RecordingSession $Session $Example.Code
        # Maintainers: MESHFED_EXAMPLES_RECORD=<file> appends what each example showed (to write or review ```output blocks).
        if ($env:MESHFED_EXAMPLES_RECORD) { [pscustomobject]@{ File = $File; Title = $Example.Title; Text = $r.Text } | ConvertTo-Json -Compress | Add-Content $env:MESHFED_EXAMPLES_RECORD }
        $r.Errors | Should -BeNullOrEmpty -Because "the example should run without errors:`n$($r.Text)"
        if ($null -ne $Example.Expected) {
            $difference = Compare-ExampleOutput -Actual $r.Text -Expected $Example.Expected
            $difference | Should -BeNullOrEmpty -Because "the ``````output under the example (line $($Example.Line)) must be what it shows"
        }
        $r
    }
}

AfterAll {
    $env:KUBECONFIG = $savedKubeconfig
    Stop-TestKube $kube
    if ($template) { Remove-Item -Recurse -Force $template -ErrorAction Ignore }
    if ($seed001) { Remove-Item -Force $seed001 -ErrorAction Ignore }
}

Describe 'The examples of <Page>' -ForEach $pages {
    BeforeAll {
        if (($Examples.Code -join "`n") -match 'Sync-MeshFederation|Remove-MeshFederation|Get-MeshFederationPlan|Get-MeshControlPlane|-Live|-Context|-FromCluster|kubectl|-Snapshot') { Reset-Clusters }
        $folder = New-ExampleFolder
        $session = New-RecordingSession -WorkingDirectory $folder -Answers @() -DefaultAnswer 'No'
        $null = Invoke-RecordingSession $session $collect
        $prelude = Invoke-RecordingSession $session $quickStart
        $prelude.Errors | Should -BeNullOrEmpty
    }
    AfterAll {
        Save-Emitted $session
        Close-RecordingSession $session
        Remove-Item -Recurse -Force $folder -ErrorAction Ignore
    }

    It 'has at least two examples, each with its output documented' {
        $Examples.Count | Should -BeGreaterOrEqual 2
        foreach ($e in $Examples) { $null -eq $e.Expected | Should -BeFalse -Because "$Page '$($e.Title)' (line $($e.Line)) needs a ``````output block" }
    }

    It '<Title>' -ForEach $Examples {
        $null = Test-Example $session $_ $Page
    }
}

Describe 'README' {
    BeforeAll {
        Reset-Clusters
        $folder = New-ExampleFolder
        $session = New-RecordingSession -WorkingDirectory $folder
        $null = Invoke-RecordingSession $session $collect
    }
    AfterAll {
        Save-Emitted $session
        Close-RecordingSession $session
        Remove-Item -Recurse -Force $folder -ErrorAction Ignore
    }

    It '<Title>' -ForEach $readme {
        $example = $_
        if ($example.Code -match '(?m)^\s*Install-Module\b') {
            # The Gallery is not reachable here: the module under test is already imported (Install-PSResource from the
            # built package is tested in Packaging.Tests.ps1).
            $example = [pscustomobject]@{ Title = $Title; Line = $Line; Code = $quickStart; Expected = $Expected }
        }
        $null = Test-Example $session $example 'README.md'
    }

    It 'the quick start writes nothing with -WhatIf' {
        Join-Path $folder 'rendered' | Should -Not -Exist
    }
}

Describe 'examples/<Name>' -ForEach $scripts {
    It 'runs and writes what it says' {
        $folder = New-ExampleFolder
        try {
            $session = New-RecordingSession -WorkingDirectory $folder
            $null = Invoke-RecordingSession $session $collect
            $out = Join-Path $folder 'out'
            $r = Invoke-RecordingSession $session "& '$Path' -OutputPath '$out'"
            $r.Errors | Should -BeNullOrEmpty -Because $r.Text
            $r.Output | Should -Not -BeNullOrEmpty
            @(Get-ChildItem -Recurse -File $out -Filter *.yaml).Count | Should -BeGreaterThan 0
            Save-Emitted $session
        } finally {
            Close-RecordingSession $session
            Remove-Item -Recurse -Force $folder -ErrorAction Ignore
        }
    }
}

Describe 'Defect 11: [OutputType] is true for every cmdlet' {
    It 'declares every type <_> emitted in the examples' -ForEach $cmdletNames {
        $name = $_
        $declared = @((Get-Command $name).OutputType.Type | ForEach-Object FullName)
        $actual = @(foreach ($o in @($emitted[$name])) { if ($null -ne $o) { $o.PSObject.BaseObject.GetType().FullName } }) | Sort-Object -Unique
        @($actual).Count | Should -BeGreaterThan 0 -Because "the examples run $name"
        foreach ($t in $actual) { $declared | Should -Contain $t -Because "$name emitted a $t" }
    }

    It 'Import-MeshTopology declares what every example topology holds' {
        $types = Import-MeshTopology -Path (Join-Path $ExamplesDir '*.yaml') | ForEach-Object { $_.GetType().FullName } | Sort-Object -Unique
        $declared = (Get-Command Import-MeshTopology).OutputType.Type.FullName
        foreach ($t in $types) { $declared | Should -Contain $t }
        $types | Should -Contain 'MeshFederation.Engine.Model.MeshFailoverPolicy'
    }
}
