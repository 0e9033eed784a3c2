"""Cut points and thresholds kept exactly as given: four decimal places (2.325 stays 2.325),
and the cut points a run applied stored as exact decimals rather than floats."""

from django.db import migrations, models


def _exact():
    return models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)


class Migration(migrations.Migration):
    dependencies = [
        ("oversight", "0005_metric_value_recorded_at_set_by_the_store"),
    ]

    operations = [
        migrations.AlterField(model_name="methodology", name="threshold_1", field=_exact()),
        migrations.AlterField(model_name="methodology", name="threshold_2", field=_exact()),
        migrations.AlterField(model_name="methodology", name="threshold_3", field=_exact()),
        migrations.AlterField(model_name="reportingperiod", name="pinned_t1", field=_exact()),
        migrations.AlterField(model_name="reportingperiod", name="pinned_t2", field=_exact()),
        migrations.AlterField(model_name="reportingperiod", name="pinned_t3", field=_exact()),
        migrations.AlterField(model_name="segmentationrun", name="cut_point_1", field=_exact()),
        migrations.AlterField(model_name="segmentationrun", name="cut_point_2", field=_exact()),
        migrations.AlterField(model_name="segmentationrun", name="cut_point_3", field=_exact()),
    ]
