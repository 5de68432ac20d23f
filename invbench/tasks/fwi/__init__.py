"""Full waveform inversion: environment, instance set-up (noise, masks, initial models), metrics, figure."""
