using System.Globalization;
using System.Text.Json.Nodes;

namespace MeshFederation.Engine.Live;

/// <summary>
/// Which objects are this module's: only those it created. Creating an object records it: the annotation
/// <see cref="CreatedAnnotation"/> is written only by the create path, and server-side apply makes this module's field
/// manager its owner in managedFields (an Apply entry). An object is ours when both hold; labels never suffice (anyone
/// can copy them, for example by applying rendered manifests with kubectl or Argo CD).
/// </summary>
public static class Ownership
{
    /// <summary>The creation record; its value is when the object was created.</summary>
    public const string CreatedAnnotation = "federation.meshfederation.io/created";

    /// <summary>Is <paramref name="live"/> ours: carries the creation record, and <paramref name="fieldManager"/> applied it?</summary>
    public static bool IsOwned(JsonObject live, string fieldManager) => NotOwnedReason(live, fieldManager) is null;

    /// <summary>Why <paramref name="live"/> is not ours, or null when it is.</summary>
    public static string? NotOwnedReason(JsonObject live, string fieldManager)
    {
        if (live["metadata"]?["annotations"]?[CreatedAnnotation] is null)
            return "meshfederation did not create it (no creation record: it existed before, or another tool created it)";
        var entries = (live["metadata"]?["managedFields"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        var ours = entries.Any(e => e["manager"]?.GetValue<string>() == fieldManager && e["operation"]?.GetValue<string>() == "Apply"
                                    && e["fieldsV1"]?["f:metadata"]?["f:annotations"]?["f:" + CreatedAnnotation] is not null);
        if (ours) return null;
        var writers = entries.Where(e => e["fieldsV1"]?["f:metadata"]?["f:annotations"]?["f:" + CreatedAnnotation] is not null)
            .Select(e => $"{e["manager"]?.GetValue<string>()} ({e["operation"]?.GetValue<string>()})").ToList();
        return $"its creation record was written by {(writers.Count == 0 ? "an unknown field manager" : string.Join(", ", writers))}, not applied by {fieldManager}";
    }

    /// <summary>Does <paramref name="fieldManager"/> own any field of <paramref name="live"/> (labels it added, for example)?</summary>
    public static bool HasFields(JsonObject live, string fieldManager) =>
        (live["metadata"]?["managedFields"] as JsonArray)?.OfType<JsonObject>()
        .Any(e => e["manager"]?.GetValue<string>() == fieldManager && e["fieldsV1"] is JsonObject { Count: > 0 }) ?? false;

    /// <summary>A copy of <paramref name="desired"/> carrying the creation record <paramref name="value"/>.</summary>
    public static JsonObject Claim(JsonObject desired, string value)
    {
        var copy = (JsonObject)desired.DeepClone();
        var md = copy["metadata"] as JsonObject ?? new JsonObject();
        copy["metadata"] = md;
        var annotations = md["annotations"] as JsonObject ?? new JsonObject();
        md["annotations"] = annotations;
        annotations[CreatedAnnotation] = value;
        return copy;
    }

    /// <summary>A copy of <paramref name="desired"/> without the creation record.</summary>
    public static JsonObject Unclaim(JsonObject desired)
    {
        var copy = (JsonObject)desired.DeepClone();
        if (copy["metadata"]?["annotations"] is JsonObject annotations)
        {
            annotations.Remove(CreatedAnnotation);
            if (annotations.Count == 0) (copy["metadata"] as JsonObject)!.Remove("annotations");
        }
        return copy;
    }

    /// <summary>The value of a new creation record: now, in RFC 3339.</summary>
    public static string NewRecord() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    /// <summary>The creation record of <paramref name="live"/>, when it has one.</summary>
    public static string? RecordOf(JsonObject? live) => live?["metadata"]?["annotations"]?[CreatedAnnotation]?.GetValue<string>();
}
