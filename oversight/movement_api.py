"""The API's form of a movement: why an organisation's segment changed since the period
before (``oversight.engine.movement``)."""

from __future__ import annotations

from rest_framework import serializers


class CauseSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[
            "programme_entry",
            "programme_exit",
            "override_applied",
            "override_lifted",
            "cut_points",
            "average",
        ]
    )
    segment_from = serializers.IntegerField()
    segment_to = serializers.IntegerField()
    text = serializers.CharField()


class ContributionSerializer(serializers.Serializer):
    metric_id = serializers.CharField()
    name = serializers.CharField()
    before = serializers.FloatField(allow_null=True)
    now = serializers.FloatField(allow_null=True)
    contribution = serializers.FloatField(
        help_text="Its share of the change of the average (positive: worse)."
    )


class MovementSerializer(serializers.Serializer):
    before = serializers.IntegerField(allow_null=True, help_text="The segment before.")
    after = serializers.IntegerField(allow_null=True)
    direction = serializers.ChoiceField(choices=["worse", "better", "same"])
    text = serializers.CharField(source="paragraph")
    causes = CauseSerializer(many=True, help_text="In the direction of the move, in order.")
    offsets = CauseSerializer(many=True, help_text="Causes that worked against the move.")
    contributions = ContributionSerializer(
        many=True, help_text="The metrics that moved the average in the direction of the move."
    )
